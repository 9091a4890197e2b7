"""The Skiff command line: kernel parameters, then ` -- `, then app arguments.

Words are rendered for the kernel's parser (kernel/cmdline.h): tokens split
on blanks; double quotes group blanks and may appear anywhere in a token;
inside quotes `\\"` and `\\\\` are escapes and any other backslash is literal;
outside quotes a backslash is literal; the first bare `--` ends the kernel
parameters. `split()` below is a model of that parser, used to check that
what a loader passes on (GRUB re-quotes arguments its own way) still reads
back as the words the user gave.
"""

SEPARATOR = "--"
BLANKS = " \t\r\n\v\f"


class CmdlineError(ValueError):
    pass


def check_word(word):
    for ch in word:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise CmdlineError(
                f"argument {word!r} contains a control character, which a kernel command line cannot carry")


def quote_word(word):
    """One word as the kernel's parser reads it back unchanged."""
    check_word(word)
    if word and not any(ch in BLANKS or ch == '"' for ch in word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def param_words(appends):
    """Kernel parameters from repeated --append values, each split on blanks."""
    words = []
    for chunk in appends:
        for word in chunk.split():
            if word == SEPARATOR:
                raise CmdlineError("`--` in --append would start the app's arguments; "
                                   "put app arguments after a bare -- on the skiff command line")
            words.append(word)
    return words


def build_words(params, app_args):
    """Kernel params, then `--` and the app's argv[1:] when there are any."""
    words = list(params)
    if app_args:
        words.append(SEPARATOR)
        words.extend(app_args)
    return words


def render(words):
    return " ".join(SEPARATOR if w == SEPARATOR else quote_word(w) for w in words)


def split(text):
    """Tokens as the kernel's parser decodes them (separator kept as `--`)."""
    tokens = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in BLANKS:
            i += 1
            continue
        out = []
        in_quotes = False
        while i < n and (in_quotes or text[i] not in BLANKS):
            ch = text[i]
            if ch == '"':
                in_quotes = not in_quotes
            elif in_quotes and ch == "\\" and i + 1 < n and text[i + 1] in '"\\':
                out.append(text[i + 1])
                i += 1
            else:
                out.append(ch)
            i += 1
        tokens.append("".join(out))
    return tokens
