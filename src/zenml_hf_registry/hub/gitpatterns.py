"""Git path patterns as preupload reads them: `.gitattributes` (LFS or not) and `.gitignore`.

Patterns follow git's rules (gitignore(5), gitattributes(5)): a pattern without a slash matches a
name at any depth, one with a slash is relative to the repo root, `*` and `?` stay within one path
segment, `**` spans segments, a trailing `/` matches folders only and `!` re-includes (ignore
files only). Later lines win over earlier ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["GitAttributes", "GitIgnore"]


def _translate(pattern: str) -> re.Pattern[str]:
    """The regex of one git wildmatch pattern (already stripped of `!` and a trailing `/`)."""
    anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        elif pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    return re.compile(prefix + "".join(out))


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negated: bool
    folders_only: bool

    def matches(self, path: str, is_folder: bool) -> bool:
        return (is_folder or not self.folders_only) and self.regex.fullmatch(path) is not None


def _parse(content: str, *, allow_negation: bool) -> list[tuple[_Rule, list[str]]]:
    rules = []
    for raw in content.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, *attributes = line.split()
        negated = allow_negation and pattern.startswith("!")
        pattern = pattern.removeprefix("!") if negated else pattern
        folders_only = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        if pattern:
            rules.append((_Rule(_translate(pattern), negated, folders_only), attributes))
    return rules


class GitIgnore:
    """The rules of a `.gitignore` at the repo root."""

    def __init__(self, content: str) -> None:
        self._rules = [rule for rule, _ in _parse(content, allow_negation=True)]

    def _verdict(self, path: str, is_folder: bool) -> bool:
        ignored = False
        for rule in self._rules:
            if rule.matches(path, is_folder):
                ignored = not rule.negated
        return ignored

    def ignores(self, path: str) -> bool:
        """Whether a file at `path` is ignored (directly or because a parent folder is)."""
        parts = path.split("/")
        for depth in range(1, len(parts)):
            if self._verdict("/".join(parts[:depth]), True):
                return True  # git never looks inside an ignored folder
        return self._verdict(path, False)


class GitAttributes:
    """The rules of a `.gitattributes` at the repo root, as far as LFS is concerned."""

    def __init__(self, content: str) -> None:
        self._rules = [
            (rule, attributes)
            for rule, attributes in _parse(content, allow_negation=False)
            if any(a.split("=")[0].lstrip("-!") == "filter" for a in attributes)
        ]

    def is_lfs(self, path: str) -> bool:
        """Whether `filter=lfs` applies to `path` (the last matching line decides)."""
        lfs = False
        for rule, attributes in self._rules:
            if rule.matches(path, False):
                for attribute in attributes:
                    if attribute.startswith("filter="):
                        lfs = attribute == "filter=lfs"
                    elif attribute in ("-filter", "!filter"):
                        lfs = False
        return lfs
