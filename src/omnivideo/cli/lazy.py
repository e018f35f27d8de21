"""Subcommands imported only when they run, so `omnivideo --help` answers at once.

The client-side commands (`generate`, `tasks`, `auth`) import the SDK, rich's live display and
the wire dialects; the server-side ones import the server stack inside their bodies. A
:class:`LazyGroup` lists a lazy command by its name and one-line help, and imports its module
only when the command is resolved to run (or to show its own help).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
import typer.core
import typer.main


@dataclass(frozen=True)
class Lazy:
    """``target`` is ``module:attribute``: a command function or a :class:`typer.Typer` app.
    ``summary`` is what the parent's help lists (the command's own short help; a test checks
    they agree). ``first`` lists it before the eager commands, else after them."""

    target: str
    summary: str
    first: bool = False

    def load(self, name: str) -> Any:
        module, _, attribute = self.target.partition(":")
        obj = getattr(importlib.import_module(module), attribute)
        command: Any
        if isinstance(obj, typer.Typer):
            command = typer.main.get_group(obj)
        else:
            single = typer.Typer(add_completion=False)
            single.command(name)(obj)
            command = typer.main.get_command(single)
        command.name = name
        return command


class LazyGroup(typer.core.TyperGroup):
    """A Typer group whose :attr:`lazy` commands are imported on first use."""

    lazy: ClassVar[dict[str, Lazy]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        eager = [name for name in super().list_commands(ctx) if name not in self.lazy]
        first = [name for name, entry in self.lazy.items() if entry.first]
        last = [name for name, entry in self.lazy.items() if not entry.first]
        return first + eager + last

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = self.lazy.get(cmd_name)
        if entry is None or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        if self._listing:
            # the group's help lists it: its name and summary, nothing imported
            return typer.core.TyperCommand(cmd_name, help=entry.summary, short_help=entry.summary)
        command = entry.load(cmd_name)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
