"""The one error type the build raises for bad input."""

from __future__ import annotations


class BuildError(Exception):
    """Bad input: a catalogue file or a source file that cannot be used.

    ``problems`` lists every problem found, each naming the file, the record
    and the field where it can, so that one run shows them all.
    """

    def __init__(self, summary: str, problems: list[str] | None = None) -> None:
        self.summary = summary
        self.problems = list(problems or [])
        super().__init__(self.report())

    def __reduce__(self):
        """Pickled as made (the build sends it back from a forked process, leftbehind.forked)."""
        return (type(self), (self.summary, self.problems))

    def report(self) -> str:
        lines = [f"Build failed: {self.summary}"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)
