"""The console script. `--version` alone answers without importing the CLI stack (typer, pydantic: about
0.1 s); everything else goes to `gleak_sarif.cli`."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from gleak_sarif import __version__

        sys.stdout.write(f"gleak-sarif {__version__}\n")  # the same line as the CLI's --version
        return
    from gleak_sarif import interrupts

    interrupts.hold()  # Ctrl-C during the imports is raised once the CLI's handlers are in place
    from gleak_sarif.cli import main as cli_main

    cli_main()
