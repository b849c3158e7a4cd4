"""Shell completion from the argparse grammar: a small script per shell that asks rulec for the candidates
(`_RULEC_COMPLETE=complete_SHELL COMP_WORDS=... COMP_CWORD=N rulec`), so completion follows upgrades.

rulec answers with commands, sub-commands, options and option choices, one a line; no answer lets the shell
complete file names (where a path goes, and where rulec knows no candidates)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rulec.cli import grammar

MARK = "# rulec shell completion"

SCRIPTS = {
    "bash": """\
# rulec completion for bash: `rulec --show-completion bash`; rulec answers, so it follows upgrades
_rulec_completion() {
    local IFS=$'\\n'
    COMPREPLY=( $(env COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD=$COMP_CWORD _RULEC_COMPLETE=complete_bash "$1" 2>/dev/null) )
    return 0
}
complete -o default -F _rulec_completion rulec
""",
    "zsh": """\
#compdef rulec
# rulec completion for zsh: `rulec --show-completion zsh`; rulec answers, so it follows upgrades
_rulec() {
    local -a answer
    answer=("${(@f)$(env COMP_WORDS="${words[*]}" COMP_CWORD=$((CURRENT - 1)) _RULEC_COMPLETE=complete_zsh \
${words[1]} 2>/dev/null)}")
    answer=(${answer:#})
    if (( ${#answer} )); then compadd -- $answer; else _files; fi
}
(( $+functions[compdef] )) || { autoload -Uz compinit && compinit }
compdef _rulec rulec
""",
    "fish": """\
# rulec completion for fish: `rulec --show-completion fish`; rulec answers, so it follows upgrades
function __rulec_complete
    set -l prior (commandline -opc)
    set -l current (commandline -ct)
    set -l answer (env COMP_WORDS="$prior $current" COMP_CWORD=(count $prior) _RULEC_COMPLETE=complete_fish \
$prior[1] 2>/dev/null)
    if set -q answer[1]
        printf '%s\\n' $answer
    else
        __fish_complete_path "$current"
    end
end
complete -c rulec -f -a '(__rulec_complete)'
""",
}


def script(shell: str) -> str:
    return SCRIPTS[shell]


def answer(env) -> int:
    """Print the candidates for the shell's COMP_WORDS / COMP_CWORD (the protocol of SCRIPTS)."""
    words = env.get("COMP_WORDS", "").split()
    try:
        cword = int(env.get("COMP_CWORD", ""))
    except ValueError:
        return 1
    current = words[cword] if cword < len(words) else ""
    found = candidates(words[1:cword], current)
    if found:
        print("\n".join(found))
    return 0


def candidates(prior: list[str], current: str) -> list[str]:
    """What may follow `rulec *prior`, starting with `current`; [] where a file name (or anything) goes."""
    path: tuple[str, ...] = ()
    for i, word in enumerate(prior):
        commands = grammar.table(path)
        if word.startswith("-") or word not in commands:
            continue
        if isinstance(commands[word][1], dict):
            path = (*path, word)
            continue
        return _in_command(grammar.command((*path, word)), prior[i + 1 :], current)
    if current.startswith("-"):
        options = ["--help"] + (["--version", "--install-completion", "--show-completion"] if not path else [])
        return [o for o in options if o.startswith(current)]
    if prior[-1:] in (["--show-completion"], ["--install-completion"]):
        return [s for s in grammar.SHELLS if s.startswith(current)]
    return [n for n, (h, _) in grammar.table(path).items() if h and n.startswith(current)]


def _in_command(parser: argparse.ArgumentParser, prior: list[str], current: str) -> list[str]:
    options = {o: a for a in parser._actions for o in a.option_strings}
    if prior and prior[-1] in options and options[prior[-1]].nargs != 0:  # the option's value
        return [c for c in options[prior[-1]].choices or () if c.startswith(current)]
    if current.startswith("-"):
        return sorted(o for o in options if o.startswith(current) and (o.startswith("--") or o == current))
    return []  # a positional: POLICY, LOGS and FILE are paths; HOST, OLD and NEW anything


def current_shell(env) -> str | None:
    name = Path(env.get("SHELL", "")).name
    return name if name in grammar.SHELLS else None


def _home(env) -> Path:
    return Path(env.get("HOME") or Path.home())


def _config(env) -> Path:
    return Path(env.get("XDG_CONFIG_HOME") or _home(env) / ".config")


def locations(shell: str, env) -> tuple[Path, Path | None]:
    """Where `--install-completion` writes the script, and the start-up file that must source it (None: the
    shell loads it from there itself)."""
    if shell == "fish":
        return _config(env) / "fish" / "completions" / "rulec.fish", None
    rc = Path(env.get("ZDOTDIR") or _home(env)) / ".zshrc" if shell == "zsh" else _home(env) / ".bashrc"
    return _config(env) / "rulec" / f"completion.{shell}", rc


def source_line(script_path: Path) -> str:
    quoted = str(script_path).replace("'", "'\\''")
    return f"[ -f '{quoted}' ] && . '{quoted}'  {MARK}\n"


def install(shell: str, env) -> str:
    """Write the script (atomically, with the umask's mode) and add one source line to the shell's start-up
    file, once: running it again changes nothing. Returns what was done, for the user."""
    from rulec.files import write_atomic

    script_path, rc = locations(shell, env)
    done = [
        f"wrote {script_path}"
        if write_atomic({script_path: script(shell).encode()})
        else f"{script_path} is up to date"
    ]
    if rc is not None:
        line = source_line(script_path)
        text = rc.read_text(errors="replace") if rc.is_file() else ""
        if line in text.splitlines(keepends=True) or line.rstrip("\n") in text.splitlines():
            done.append(f"{rc} already sources it")
        else:
            with rc.open("a") as fh:  # append only: the rest of the user's file is never rewritten
                fh.write(("\n" if text and not text.endswith("\n") else "") + line)
            done.append(f"added to {rc}: {line.rstrip()}")
    done.append(f"open a new {shell} to use it")
    return "\n".join(done)
