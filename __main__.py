"""The platform, layer by layer; all logic lives in components/."""

import pulumi

from components.platform import Platform, PlatformArgs, load_spec

spec = load_spec()
platform = Platform("platform", PlatformArgs(spec=spec))

pulumi.export("environment", spec.environment.value)
pulumi.export("capacity_plan", platform.capacity_plan)
