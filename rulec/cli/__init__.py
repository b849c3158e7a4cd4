"""Command line: the only package that prints, exits or parses arguments (the standard library's argparse).

`main(argv)` is the entry point (`rulec = "rulec.cli:main"`); it imports only argparse and the command that runs."""

from __future__ import annotations

import os
import sys

from rulec.cli import grammar


def main(argv: list[str] | None = None) -> None:
    """Run rulec with `argv` (default: the process's arguments) and exit with its code: 0 ok, 1 findings or
    drift, 2 bad input or a usage error, 130 interrupted."""
    if "_RULEC_COMPLETE" in os.environ:  # the shell asks for completions (rulec.cli.completion's scripts)
        from rulec.cli import completion

        sys.exit(completion.answer(os.environ))
    try:
        code = run(sys.argv[1:] if argv is None else [str(a) for a in argv])
    except BrokenPipeError:
        code = _reader_gone()
    except grammar.UsageError as exc:
        print(exc, file=sys.stderr)
        code = 2
    except Exception as exc:  # rulec.errors is imported only when something failed (--help does without it)
        from rulec.errors import RulecError

        if not isinstance(exc, RulecError):
            raise
        for d in exc.diagnostics:
            print(d, file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _reader_gone()
    sys.exit(code)


def _reader_gone() -> int:
    """`rulec ... | head` closed the pipe: exit 1 quietly (as click did), with nothing left to flush at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1


def split(argv: list[str]) -> tuple[list[str], str | None, list[str]]:
    """(options before the command, the command, the rest): `rulec --version`, `rulec build ...`."""
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        takes_value = argv[i] == "--show-completion" or (
            argv[i] == "--install-completion" and argv[i + 1 : i + 2] and argv[i + 1] in grammar.SHELLS
        )
        i += 2 if takes_value else 1
    return argv[:i], (argv[i] if i < len(argv) else None), argv[i + 1 :]


def run(argv: list[str], path: tuple[str, ...] = ()) -> int:
    options, name, rest = split(argv)
    root = grammar.root(path)
    top = root.parse_args(options)  # --help exits here (0); a bad option raises UsageError
    if not path and (top.version or top.show_completion or top.install_completion is not None):
        if name is not None:
            root.error(f"unexpected argument '{name}'")
        return _root_option(top)
    if name is None:  # no command: the help, as a usage error
        root.print_help()
        return 2
    commands = grammar.table(path)
    if name not in commands:
        import difflib

        close = difflib.get_close_matches(name, [c for c in commands if c != "hook"], 1, 0.6)
        root.error(f"no such command '{name}'" + (f"; did you mean '{close[0]}'?" if close else ""))
    if isinstance(commands[name][1], dict):
        return run(rest, (*path, name))
    parser = grammar.command((*path, name))
    # Options may follow positionals, as with click (`hook check a.yaml -o out b.yaml`); after `--` all are positional
    # (intermixed parsing would drop the `--`).
    args = parser.parse_args(rest) if "--" in rest else parser.parse_intermixed_args(rest)
    from rulec.cli import commands as cmds

    return cmds.run((*path, name), args)


def _root_option(top) -> int:
    if top.version:
        from rulec import __version__

        print(f"rulec {__version__}")
        return 0
    from rulec.cli import completion

    if top.show_completion:
        print(completion.script(top.show_completion), end="")
        return 0
    shell = top.install_completion or completion.current_shell(os.environ)
    if shell is None:
        raise grammar.UsageError("rulec: cannot tell the shell from $SHELL: give it, e.g. --install-completion bash")
    print(completion.install(shell, os.environ))
    return 0
