"""A Dockerfile read into stages of instructions: enough to state facts about it, not a full parser."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper-case: FROM, RUN, ...
    args: str  # continuation lines joined with single spaces, comments dropped

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form ENTRYPOINT/CMD (and HEALTHCHECK's part after CMD)."""
        text = self.args.split("CMD", 1)[1] if self.keyword == "HEALTHCHECK" else self.args
        value = json.loads(text)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self
        return value


@dataclass(frozen=True)
class Stage:
    image: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"no {keyword} in stage {self.name or self.image}"
        return found[-1]

    def env(self) -> dict[str, str]:
        """ENV key=value pairs (the only ENV form the Dockerfile uses)."""
        pairs: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for item in instruction.args.split():
                key, sep, value = item.partition("=")
                assert sep, f"ENV {instruction.args!r}: use key=value"
                pairs[key] = value
        return pairs


def instructions(text: str) -> list[Instruction]:
    out: list[Instruction] = []
    pending: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comment lines inside a continuation are dropped by Docker too
        continued = line.endswith("\\")
        pending.append(line[:-1].strip() if continued else line)
        if not continued:
            keyword, _, args = " ".join(pending).partition(" ")
            out.append(Instruction(keyword.upper(), " ".join(args.split())))
            pending = []
    assert not pending, "the Dockerfile ends inside a line continuation"
    return out


def stages(text: str) -> list[Stage]:
    found: list[Stage] = []
    current: list[Instruction] = []
    image, name = "", None
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            if image:
                found.append(Stage(image, name, tuple(current)))
            words = instruction.args.split()
            image = words[0]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            current = []
        else:
            assert image, f"{instruction.keyword} before the first FROM"
            current.append(instruction)
    found.append(Stage(image, name, tuple(current)))
    return found


def load() -> list[Stage]:
    return stages(DOCKERFILE.read_text(encoding="utf-8"))
