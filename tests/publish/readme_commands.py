#!/usr/bin/env python3
"""The `fastly` commands of Markdown files' ```console blocks: checked against the CLI, or turned into a script.

scripts/publish-rehearsal runs it on README.md and every docs/*.md: the
deployment steps (docs/deploying.md) are commands an operator types after the
unattended first publish (issue 11 item 7), and a renamed command or flag in a
CLI release, or a step that does not work, must fail CI, not the operator.

  readme_commands.py check <fastly binary> <markdown file>...
    For each `$ ` line (continuation lines joined) of every file, each
    `fastly …` in it (also inside `$(…)` or after a pipe) is run as
    `fastly <subcommands> --help`; the help must describe exactly that command
    and list every `--flag` used. Nothing is sent anywhere: `--help` needs no
    account.

  readme_commands.py script <markdown file>...
    Prints, as one bash script, the console blocks of the files, in the order
    given, whose `fastly` commands are all steps the API stand-in answers
    (REHEARSED below) and that call nothing else over the network: their `$ `
    lines with continuation and here-document lines, without the output lines.
    The rehearsal runs it after the publish.
"""

import re
import shlex
import subprocess
import sys

STOP = {"|", "||", "&&", ";", "<", ">", ">>", "(", ")", "$"}


def commands(markdown):
    """The `fastly` invocations of the console blocks: (line, [words], [flags])."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", markdown, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            if not line.startswith("$ "):
                continue
            shown = line[2:].split("  #")[0]  # a trailing comment is not part of the command
            shown = re.sub(r"<[a-z][^<>]*>", "PLACEHOLDER", shown)  # `<subscription id>` is a value, not a redirection
            lexer = shlex.shlex(shown, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            try:
                tokens = list(lexer)
            except ValueError as exc:
                found.append((line, None, [f"unparsable: {exc}"]))
                continue
            for i, tok in enumerate(tokens):
                if tok != "fastly":
                    continue
                words, flags = [], []
                for t in tokens[i + 1:]:
                    if t in STOP:
                        break
                    if t.startswith("--"):
                        flags.append(t.split("=", 1)[0])
                    elif not flags and re.fullmatch(r"[a-z][a-z0-9-]*", t) and len(words) < 5:
                        words.append(t)
                if words:
                    found.append((line, words, flags))
    return found


# The deployment steps after the publish (docs/deploying.md) that tests/publish/fastly_api_standin.py answers.
REHEARSED = {
    "secret-store list", "secret-store-entry create", "config-store list", "config-store-entry update",
    "config-store-entry create", "service backend create", "service version activate", "service logging s3 create",
}


def script(markdown):
    """The console blocks made only of REHEARSED commands, as bash."""
    blocks = re.findall(r"```console\n(.*?)```", markdown, re.S)
    out = []
    for block in blocks:
        used = {" ".join(words) for _, words, _ in commands(f"```console\n{block}```") if words}
        if not used or not used <= REHEARSED or re.search(r"(^|[\s|(])(curl|wget|ssh)\s", block, re.M):
            continue
        lines, heredoc, continued = [], None, False
        for line in block.splitlines():
            if heredoc is not None:
                lines.append(line)
                if line.strip() == heredoc:
                    heredoc = None
                continue
            if continued or line.startswith("$ "):
                text = line if continued else line[2:]
                lines.append(text)
                continued = text.endswith("\\")
                m = re.search(r"<<-?\s*'?\"?(\w+)'?\"?", text)
                if m and not continued:
                    heredoc = m.group(1)
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def check(fastly, paths):
    problems, checked = [], 0
    found = [(path, found) for path in paths for found in commands(open(path).read())]
    for path, (line, words, flags) in found:
        if words is None:
            problems.append(f"{path}: {line}: {flags[0]}")
            continue
        # Subcommand words end where the help stops naming a command (positional arguments follow).
        run = subprocess.run([fastly, *words, "--help"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        help_text = run.stdout + run.stderr
        usage = re.search(r"USAGE\n\s+(fastly[^\n]*)", help_text)
        # An alias shares its help: `fastly service logging s3 create` prints the usage of
        # `fastly logging s3 create`, and its own path under SEE ALSO.
        named = usage and re.match(rf"fastly {' '.join(words)}( |$)", usage.group(1))
        named = named or f"/reference/cli/{'/'.join(words)}/" in help_text
        if "ERROR:" in help_text or not named:
            problems.append(f"{path}: `fastly {' '.join(words)}` is not a command of this CLI ({line.strip()})")
            continue
        for flag in flags:
            if not re.search(rf"(^|\s){re.escape(flag)}(=|\s|$)", help_text, re.M):
                problems.append(f"{path}: `fastly {' '.join(words)}` has no flag {flag} ({line.strip()})")
        checked += 1
    if problems:
        print("\n".join(f"FAILED: {p}" for p in problems), file=sys.stderr)
        return 1
    print(f"{checked} fastly commands in {', '.join(paths)} exist with the flags shown (checked with --help)")
    return 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3:])
    if len(sys.argv) >= 3 and sys.argv[1] == "script":
        # One script of every file's blocks, in the order given (each file's blocks are whole).
        sys.stdout.write("\n".join(script(open(path).read()) for path in sys.argv[2:]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
