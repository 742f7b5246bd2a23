"""How the program's SSH steps (pulumi-command ``remote.*``) reach the machines.

Every machine is reached on its private address; when the stack has a bastion, through it (the
security groups only let SSH in from the bastion then, see docs/security-groups.md). The key is
the optional secret ``k8s-platform:sshPrivateKey``; without it pulumi-command uses the operator's
ssh-agent (``SSH_AUTH_SOCK``), so no private key has to live in any file. A preview opens no
connection at all.

Every SSH step of the program is one ``ssh_step``: the convention its scripts follow (what goes on
stdin, what may be logged, what re-runs a step) is components/control_plane/remote_scripts.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    bastion_host_key: pulumi.Output[str] | None = None
    """The bastion's SSH host key (authorized_keys form), verified on the jump; None: not verified
    (a bastion that booted before host keys were injected, or none)."""

    @staticmethod
    def from_config(
        user: str, bastion_host: pulumi.Output[str] | None = None, bastion_host_key: pulumi.Output[str] | None = None
    ) -> SshAccess:
        key = pulumi.Config(NAMESPACE).get_secret("sshPrivateKey")
        return SshAccess(user=user, private_key=key, bastion_host=bastion_host, bastion_host_key=bastion_host_key)

    def connection(
        self, host: pulumi.Input[str], host_key: pulumi.Input[str] | None = None
    ) -> command.remote.ConnectionArgs:
        """Connection to ``host`` (a private address), through the bastion when there is one.

        ``host_key``: the machine's host key (``Node.host_key``); the connection then fails on any
        other key instead of trusting whatever answers. None leaves it unchecked, and adds nothing
        to the connection: the steps of a machine that booted without an injected key keep their
        inputs, so neither this project's command plugin nor upstream's runs them again.
        """
        proxy = None
        if self.bastion_host is not None:
            proxy = command.remote.ProxyConnectionArgs(
                host=self.bastion_host, user=self.user, private_key=self.private_key, host_key=self.bastion_host_key
            )
        return command.remote.ConnectionArgs(
            host=host,
            user=self.user,
            private_key=self.private_key,
            host_key=host_key,
            proxy=proxy,
            # Fresh instances take a while to accept SSH (cloud-init); retry instead of failing.
            dial_error_limit=30,
        )


_SECRET_OUTPUTS = ["stdout", "stderr"]


def ssh_step(
    name: str,
    parent: pulumi.Resource,
    connection: command.remote.ConnectionArgs,
    *,
    create: pulumi.Input[str],
    stdin: pulumi.Input[str] | None = None,
    delete: pulumi.Input[str] | None = None,
    triggers: list | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
    secret: bool = False,
    previous_output_in_env: bool | None = None,
    aliases: Sequence[pulumi.Alias] = (),
) -> command.remote.Command:
    """One SSH step (a pulumi-command ``remote.Command``), a child of ``parent`` named ``name``.

    ``secret``: the step's output may hold a secret (a token, a key): nothing of it is logged
    (pulumi-command's ``logging``) and its stdout/stderr are secret Outputs in the state.
    ``previous_output_in_env``: False keeps the previous run's stdout from being sent back to the
    host as an environment variable (kubeadm's steps, whose stdout is secret); None leaves
    pulumi-command's default. ``aliases``: the step's names before a move (default: none). Every
    other argument is the Command's own.
    """
    return command.remote.Command(
        name,
        connection=connection,
        create=create,
        stdin=stdin,
        delete=delete,
        triggers=triggers,
        logging=command.remote.Logging.NONE if secret else None,
        add_previous_output_in_env=previous_output_in_env,
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on),
            additional_secret_outputs=_SECRET_OUTPUTS if secret else None,
            aliases=list(aliases) or None,
        ),
    )
