"""Telegram's formatting rules: parse_mode HTML, MarkdownV2 and Markdown into text + entities.

The HTML parser follows tdlib's ``parse_html`` (the code behind the Bot API): the same tags, the
same entity decoding (``&lt; &gt; &amp; &quot;`` and numeric references; anything else is kept as
literal text, as Telegram does) and the same error texts with UTF-8 byte offsets. Entity offsets
and lengths are in UTF-16 code units, like the Bot API's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.standin.errors import ApiError

Entity = dict[str, Any]

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (how Telegram measures entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _cant_parse(detail: str) -> ApiError:
    return ApiError.bad_request(f"can't parse entities: {detail}")


@dataclass
class _Span:
    """An entity while parsing: Python string indexes into the parsed text."""

    type: str
    start: int
    end: int
    extra: dict[str, Any]


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference at ``text[pos] == '&'``; None keeps the '&' literally."""
    n = len(text)
    end = pos + 1
    value = 0
    if end < n and text[end] == "#":
        end += 1
        digits_start = end
        if end < n and text[end] == "x":
            end += 1
            digits_start = end
            while end < n and text[end] in "0123456789abcdefABCDEF":
                value = value * 16 + int(text[end], 16)
                end += 1
                if value >= 0x10FFFF:
                    return None
        else:
            while end < n and text[end].isdigit() and text[end].isascii():
                value = value * 10 + int(text[end])
                end += 1
                if value >= 0x10FFFF:
                    return None
        if end == digits_start or value == 0 or end - pos >= 10:
            return None
        if 0xD800 <= value <= 0xDFFF:
            return None
        char = chr(value)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
        if name not in named:
            return None
        char = named[name]
    if end < n and text[end] == ";":
        end += 1
    return char, end


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into plain text and entities, or raise ApiError like Telegram."""
    out: list[str] = []
    length = 0
    stack: list[tuple[str, str, int, int, bool]] = []  # tag, argument, start, begin, expandable
    spans: list[_Span] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                length += 1
                i = decoded[1]
                continue
        if c != "<":
            out.append(c)
            length += 1
            i += 1
            continue
        begin = i
        if i + 1 >= n or text[i + 1] != "/":
            i += 1
            name_start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            if i >= n:
                raise _cant_parse(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            tag = text[name_start:i].lower()
            if tag not in _HTML_TAGS:
                raise _cant_parse(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            argument, expandable, i = _parse_attributes(text, i, tag, begin)
            if tag == "span" and argument != "spoiler":
                raise _cant_parse(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            stack.append((tag, argument, length, begin, expandable))
            i += 1  # past '>'
            continue
        # closing tag
        if not stack:
            raise _cant_parse(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        close = text.find(">", i)
        if close == -1:
            raise _cant_parse(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        end_tag = text[begin + 2 : close].strip().lower()
        tag, argument, start, _, expandable = stack[-1]
        if end_tag and end_tag != tag:
            raise _cant_parse(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{tag}>", found "</{end_tag}>"'
            )
        stack.pop()
        i = close + 1
        if length > start:
            _close_html_entity(spans, "".join(out), tag, argument, start, length, expandable)
    if stack:
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return _finish("".join(out), spans)


def _parse_attributes(text: str, i: int, tag: str, begin: int) -> tuple[str, bool, int]:
    """Parse a start tag's attributes from ``i``; return (argument, expandable, index of '>')."""
    n = len(text)
    argument = ""
    expandable = False

    def unclosed() -> ApiError:
        return _cant_parse(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}')

    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise unclosed()
        if text[i] == ">":
            return argument, expandable, i
        attr_start = i
        while i < n and not text[i].isspace() and text[i] not in "=>":
            i += 1
        name = text[attr_start:i].lower()
        if not name:
            raise _cant_parse(
                f'Empty attribute name in the tag "{tag}" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise unclosed()
        if text[i] != "=":
            if tag == "blockquote" and name == "expandable":
                expandable = True
                continue
            raise _cant_parse(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {_byte_offset(text, begin)}"
            )
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise unclosed()
        if text[i] not in "'\"":
            token_start = i
            while i < n and (text[i].isalnum() or text[i] in ".-"):
                i += 1
            value = text[token_start:i].lower()
            if i >= n or (not text[i].isspace() and text[i] != ">"):
                raise _cant_parse(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, token_start)}"
                )
        else:
            quote = text[i]
            i += 1
            chars: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "&":
                    decoded = _decode_html_entity(text, i)
                    if decoded is not None:
                        chars.append(decoded[0])
                        i = decoded[1]
                        continue
                chars.append(text[i])
                i += 1
            if i >= n:
                raise unclosed()
            i += 1
            value = "".join(chars)
        if tag == "a" and name == "href":
            argument = value
        elif tag == "code" and name == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif tag == "span" and name == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif tag == "tg-emoji" and name == "emoji-id":
            argument = value


def _close_html_entity(
    spans: list[_Span],
    current: str,
    tag: str,
    argument: str,
    start: int,
    end: int,
    expandable: bool,
) -> None:
    if tag in _SIMPLE_TYPES:
        spans.append(_Span(_SIMPLE_TYPES[tag], start, end, {}))
    elif tag == "a":
        url = argument or current[start:end]
        if url.startswith("tg://user?id=") and url[len("tg://user?id=") :].isdigit():
            user = {"id": int(url[len("tg://user?id=") :]), "is_bot": False, "first_name": "User"}
            spans.append(_Span("text_mention", start, end, {"user": user}))
        elif url:
            spans.append(_Span("text_link", start, end, {"url": url}))
    elif tag == "tg-emoji":
        if not argument.isdigit():
            raise _cant_parse("Invalid custom emoji identifier specified")
        spans.append(_Span("custom_emoji", start, end, {"custom_emoji_id": argument}))
    elif tag == "code":
        spans.append(_Span("code", start, end, {"language": argument} if argument else {}))
    elif tag == "pre":
        # <pre><code class="language-x">…</code></pre> becomes one pre entity with a language
        last = spans[-1] if spans else None
        if last and last.type == "code" and last.start == start and last.end == end:
            spans.pop()
            spans.append(_Span("pre", start, end, dict(last.extra)))
        else:
            spans.append(_Span("pre", start, end, {}))
    elif tag == "blockquote":
        kind = "expandable_blockquote" if expandable else "blockquote"
        spans.append(_Span(kind, start, end, {}))


def _finish(text: str, spans: list[_Span]) -> tuple[str, list[Entity]]:
    """Trim surrounding whitespace like Telegram and convert spans to UTF-16 entities."""
    stripped_left = len(text) - len(text.lstrip())
    trimmed = text.strip()
    entities: list[Entity] = []
    for span in spans:
        start = min(max(span.start - stripped_left, 0), len(trimmed))
        end = min(max(span.end - stripped_left, 0), len(trimmed))
        if end <= start:
            continue
        offset = utf16_len(trimmed[:start])
        size = utf16_len(trimmed[start:end])
        entity: Entity = {"type": span.type, "offset": offset, "length": size}
        if span.type != "code":  # a bare <code> has no language; only pre carries one
            entity.update(span.extra)
        entities.append(entity)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return trimmed, entities


def plain_text(text: str) -> tuple[str, list[Entity]]:
    """Text without a parse mode: only trimmed."""
    return _finish(text, [])


_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Basic MarkdownV2: the inline entities, links, code/pre and Telegram's escaping rules."""
    out: list[str] = []
    spans: list[_Span] = []
    stack: list[tuple[str, int, int, dict[str, Any]]] = []  # type, start, begin, extra
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        top = stack[-1][0] if stack else None
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) < 127:
            out.append(text[i + 1])
            i += 2
            continue
        if top in ("code", "pre"):
            closing = "```" if top == "pre" else "`"
            if text.startswith(closing, i):
                _, start, _, extra = stack.pop()
                if len(out) > start:
                    spans.append(_Span(top, start, len(out), extra))
                i += len(closing)
            else:
                out.append(c)
                i += 1
            continue
        if c not in _MDV2_RESERVED:
            out.append(c)
            i += 1
            continue
        token, kind = _mdv2_token(text, i)
        if kind is not None and top == kind and kind != "text_link":
            _, start, _, extra = stack.pop()
            if len(out) > start:
                spans.append(_Span(kind, start, len(out), extra))
            i += len(token)
            continue
        if c == "]" and top == "text_link":
            _, start, begin, _ = stack.pop()
            i += 1
            url = "".join(out[start:])
            if i < n and text[i] == "(":
                close = i + 1
                chars: list[str] = []
                while close < n and text[close] != ")":
                    if text[close] == "\\" and close + 1 < n:
                        close += 1
                    chars.append(text[close])
                    close += 1
                if close >= n:
                    raise _cant_parse(
                        f"Can't find end of a url at byte offset {_byte_offset(text, i)}"
                    )
                url = "".join(chars)
                i = close + 1
            if len(out) > start and url:
                spans.append(_Span("text_link", start, len(out), {"url": url}))
            continue
        if c == ">" and (i == 0 or text[i - 1] == "\n") and not stack:
            line_end = text.find("\n", i)
            line_end = n if line_end == -1 else line_end
            inner_text, inner = parse_markdown_v2(text[i + 1 : line_end])
            base = len(out)
            out.extend(inner_text)
            spans.append(_Span("blockquote", base, len(out), {}))
            spans.extend(_spans_from_entities(inner_text, inner, base))
            i = line_end
            continue
        if kind is None or kind in ("text_link_end",):
            raise _cant_parse(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        extra = {}
        i += len(token)
        if kind == "pre":
            line_end = text.find("\n", i)
            if line_end != -1 and text[i:line_end].strip() and " " not in text[i:line_end]:
                extra = {"language": text[i:line_end].strip()}
                i = line_end + 1
        stack.append((kind, len(out), i - len(token), extra))
    if stack:
        kind, _, begin, _ = stack[-1]
        raise _cant_parse(
            f"Can't find end of {_MDV2_NAMES.get(kind, kind)} entity at byte offset "
            f"{_byte_offset(text, begin)}"
        )
    return _finish("".join(out), spans)


def _mdv2_token(text: str, i: int) -> tuple[str, str | None]:
    if text.startswith("```", i):
        return "```", "pre"
    if text.startswith("__", i):
        return "__", "underline"
    if text.startswith("||", i):
        return "||", "spoiler"
    single = {"*": "bold", "_": "italic", "~": "strikethrough", "`": "code", "[": "text_link"}
    c = text[i]
    return c, single.get(c)


def _spans_from_entities(text: str, entities: list[Entity], base: int) -> list[_Span]:
    spans = []
    encoded = text.encode("utf-16-le")
    for entity in entities:
        start = len(encoded[: entity["offset"] * 2].decode("utf-16-le"))
        end = start + len(
            encoded[entity["offset"] * 2 : (entity["offset"] + entity["length"]) * 2].decode(
                "utf-16-le"
            )
        )
        extra = {k: v for k, v in entity.items() if k not in ("type", "offset", "length")}
        spans.append(_Span(entity["type"], base + start, base + end, extra))
    return spans


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre``` and [text](url)."""
    out: list[str] = []
    spans: list[_Span] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            i += 1
            continue
        begin = i
        if c == "[":
            close = text.find("]", i + 1)
            if close == -1:
                raise _cant_parse(
                    "Can't find end of the entity starting at byte offset "
                    f"{_byte_offset(text, begin)}"
                )
            label = text[i + 1 : close]
            url = ""
            i = close + 1
            if i < n and text[i] == "(":
                url_end = text.find(")", i)
                if url_end != -1:
                    url = text[i + 1 : url_end]
                    i = url_end + 1
            start = len(out)
            out.extend(label)
            if url and label:
                spans.append(_Span("text_link", start, len(out), {"url": url}))
            continue
        token = "```" if text.startswith("```", i) else c
        close = text.find(token, i + len(token))
        if close == -1:
            raise _cant_parse(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        inner = text[i + len(token) : close]
        kind = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}[token]
        start = len(out)
        out.extend(inner)
        if inner:
            spans.append(_Span(kind, start, len(out), {}))
        i = close + len(token)
    return _finish("".join(out), spans)


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Dispatch on parse_mode (case-insensitive, like the Bot API)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    if mode:
        raise ApiError.bad_request("unsupported parse_mode")
    return plain_text(text)
