"""One module per subcommand.

Each module has ``register(subparsers)``, which adds its parser and sets
``handler`` to a function ``args -> int`` (an exit code). Modules import only
argparse at load time: whatever a command needs is imported when it runs, so
``--help`` stays fast and ``probe`` never imports scapy.
"""

#: Subcommands in the order ``--help`` lists them.
COMMAND_MODULES = ("probe", "tls", "ports", "interference", "replay", "discover", "scan", "history", "diff",
                   "report", "demo", "lab")
