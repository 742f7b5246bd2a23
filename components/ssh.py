"""How the program's SSH steps (pulumi-command ``remote.*``) reach the machines.

Every machine is reached on its private address; when the stack has a bastion, through it (the
security groups only let SSH in from the bastion then, see docs/security-groups.md). The key is
the optional secret ``k8s-platform:sshPrivateKey``; without it pulumi-command uses the operator's
ssh-agent (``SSH_AUTH_SOCK``), so no private key has to live in any file. A preview opens no
connection at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_command as command

from config.spec import NAMESPACE


@dataclass(frozen=True)
class SshAccess:
    """Credentials and route shared by every SSH step of a stack."""

    user: str
    """Login user with passwordless sudo."""
    private_key: pulumi.Output[str] | None
    """Secret private key, or None to use the ssh-agent."""
    bastion_host: pulumi.Output[str] | None = None
    """Public address of the bastion to jump through, or None to connect directly."""

    @staticmethod
    def from_config(user: str, bastion_host: pulumi.Output[str] | None = None) -> SshAccess:
        key = pulumi.Config(NAMESPACE).get_secret("sshPrivateKey")
        return SshAccess(user=user, private_key=key, bastion_host=bastion_host)

    def connection(self, host: pulumi.Input[str]) -> command.remote.ConnectionArgs:
        """Connection to ``host`` (a private address), through the bastion when there is one."""
        proxy = None
        if self.bastion_host is not None:
            proxy = command.remote.ProxyConnectionArgs(
                host=self.bastion_host, user=self.user, private_key=self.private_key
            )
        return command.remote.ConnectionArgs(
            host=host,
            user=self.user,
            private_key=self.private_key,
            proxy=proxy,
            # Fresh instances take a while to accept SSH (cloud-init); retry instead of failing.
            dial_error_limit=30,
        )
