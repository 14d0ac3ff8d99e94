"""The `agentkit` command: `demo`, `chat`, `conversations`, `tools lint`, `fake-server`,
`mcp serve` and `serve`.

Every subcommand reports a failure as one line on stderr and exits with status 1; `--debug`
shows the traceback instead. A usage error (an unknown command or option, a missing argument)
prints the usage and one error line on stderr and exits with status 2, as argparse does.
Colour appears only on a terminal and never with `NO_COLOR` set.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NoReturn

from .._version import __version__

__all__ = ["main"]

_EPILOG = "Without ANTHROPIC_API_KEY, demo and chat run on the built-in fake Claude (offline)."


_DB_HELP = "(default: $XDG_DATA_HOME/agentkit/conversations.db or ~/.local/share/agentkit/...)"


class _UsageError(Exception):
    """A command line argparse rejected: `main` prints `usage` and the message, and returns 2."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


class _CommandError(Exception):
    """A failure whose message says it all (no exception type shown); exit status 1."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the usage and exits 2 from inside parse_args; raising lets `main` print
    # it the same way (the usage, then one error line naming the help to read) and return 2.
    def error(self, message: str) -> NoReturn:
        # `main` prints "agentkit: error: " already; a subcommand adds its own name.
        where = "" if self.prog == "agentkit" else f"{self.prog}: "
        raise _UsageError(f"{where}{message} (see {self.prog} --help)", self.format_usage())


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    # SUPPRESS: a subcommand's own default must not overwrite `agentkit --debug demo`.
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )
    parser = _Parser(
        prog="agentkit",
        description="Tool-using agents on the Claude Messages API.",
        epilog=_EPILOG,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"agentkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def agent_options(p: argparse.ArgumentParser) -> None:
        from ._defaults import DEFAULT_MODEL, DEMO_FILES
        from ._mcp import MCP_HELP

        p.add_argument("--model", default=DEFAULT_MODEL, help="model id (default: %(default)s)")
        p.add_argument(
            "--dir",
            type=Path,
            default=DEMO_FILES,
            help="the one directory the file tools may read (default: sample files)",
        )
        p.add_argument(
            "--thinking", action="store_true", help="enable extended thinking (shown dimmed)"
        )
        p.add_argument(
            "--thinking-budget",
            type=int,
            default=2048,
            metavar="TOKENS",
            help="thinking budget tokens with --thinking (default: %(default)s)",
        )
        p.add_argument("--mcp", action="append", default=[], metavar="SERVER", help=MCP_HELP)

    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="run a tool-using agent once, streaming",
        description="Run the demo agent (calculator, clock, file reader, flaky fact service) "
        "once and stream its answer. " + _EPILOG,
    )
    demo.add_argument("prompt", nargs="?", help="your question (default: a built-in one)")
    agent_options(demo)

    chat = commands.add_parser(
        "chat",
        parents=[common],
        help="interactive chat with the demo tools, saved and resumable",
        description="Chat with the demo agent. Conversations are saved in SQLite; resume one "
        "with --resume ID. Type /help inside the chat. " + _EPILOG,
    )
    chat.add_argument(
        "--db", type=Path, default=None, help=f"the conversations database {_DB_HELP}"
    )
    chat.add_argument("--resume", metavar="ID", default=None, help="continue a saved conversation")
    agent_options(chat)

    conv = commands.add_parser(
        "conversations",
        parents=[common],
        help="list, show, export or delete saved conversations",
        description="Inspect the conversations `agentkit chat` saved.",
    )
    conv_commands = conv.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    # `_dispatch` reports a missing ACTION through the subcommand's parser (its usage, exit 2).
    conv.set_defaults(usage_error=conv.error)
    conv_common = _Parser(add_help=False, parents=[common])
    conv_common.add_argument(
        "--db", type=Path, default=None, help=f"the conversations database {_DB_HELP}"
    )
    listing = conv_commands.add_parser("list", parents=[conv_common], help="list conversations")
    listing.add_argument("--limit", type=int, default=None, help="at most this many")
    for name, text in (("show", "print a conversation"), ("delete", "delete a conversation")):
        sub = conv_commands.add_parser(name, parents=[conv_common], help=text)
        sub.add_argument("id", help="the conversation id")
        if name == "show":
            sub.add_argument(
                "--cache", action="store_true", help="each model call's cache use, misses explained"
            )
    export = conv_commands.add_parser(
        "export", parents=[conv_common], help="write a conversation as JSON"
    )
    export.add_argument("id", help="the conversation id")
    export.add_argument("--jsonl", action="store_true", help="one JSON document per line")
    export.add_argument("-o", "--output", type=Path, default=None, help="file (default: stdout)")

    tools = commands.add_parser(
        "tools", parents=[common], help="tool utilities", description="Tool utilities."
    )
    tool_commands = tools.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    tools.set_defaults(usage_error=tools.error)
    lint = tool_commands.add_parser(
        "lint",
        parents=[common],
        help="print the schema lint of a tool set",
        description="Print what the model would not be told about your tools (undocumented "
        "parameters, lost descriptions ...). Exits 1 when there are findings.",
    )
    lint.add_argument(
        "target",
        nargs="?",
        help="module:object (a tool, a list of tools, a Toolset or an Agent), or a module to "
        "lint every tool it defines; the module may be a path to a .py file",
    )
    from ._mcp import MCP_HELP

    lint.add_argument("--mcp", action="append", default=[], metavar="SERVER", help=MCP_HELP)
    lint.set_defaults(usage_error=lint.error)

    server = commands.add_parser(
        "fake-server",
        parents=[common],
        help="serve the fake Claude over HTTP",
        description="Serve the fake Claude API (scripted, or test-model mode) until "
        "interrupted; prints its URL. Point a client at it with ANTHROPIC_BASE_URL.",
    )
    from ._fake_server import add_arguments as add_fake_server_arguments

    add_fake_server_arguments(server)

    from ._batch import add_parser as add_batch_parser

    batch = add_batch_parser(commands, parents=[common])
    batch.set_defaults(usage_error=batch.error)

    from ._mcp import add_parser as add_mcp_parser

    mcp = add_mcp_parser(commands, parents=[common])
    mcp.set_defaults(usage_error=mcp.error)

    from ._serve import add_parser as add_serve_parser

    add_serve_parser(commands, parents=[common])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `agentkit` command.

    Args:
        argv: The arguments (without the program name); `sys.argv[1:]` when None.

    Returns:
        The exit status: 0 on success, 1 on an error, 2 on a usage error, 130 after Ctrl-C.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
        if args.command is None:
            parser.print_help()
            return 0
        return _dispatch(args, parser)
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else 0
    except _UsageError as exc:
        sys.stderr.write(f"{exc.usage}agentkit: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`agentkit demo | head`): stop quietly, and point stdout at
        # devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        if debug:
            traceback.print_exc()
        else:
            sys.stderr.write(f"agentkit: error: {_describe(exc)}\n")
        return 1


def _describe(exc: BaseException) -> str:
    """One line for an error: its message, and its type when the message alone is unclear."""
    if isinstance(exc, _CommandError):
        return str(exc)
    message = " ".join(str(exc).split()) or type(exc).__name__
    from .._exceptions import AgentkitError

    if isinstance(exc, AgentkitError | OSError):
        return message
    return f"{type(exc).__name__}: {message}"


def _dispatch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ._output import Style

    out = sys.stdout
    style = Style.for_stream(out)
    if args.command == "demo":
        from ._demo import run_demo
        from ._mcp import mcp_toolsets

        return run_demo(
            args.prompt,
            model=args.model,
            root=_directory(args.dir),
            thinking_budget=args.thinking_budget if args.thinking else None,
            out=out,
            style=style,
            servers=mcp_toolsets(args.mcp),
        )
    if args.command == "chat":
        return _cmd_chat(args, style)
    if args.command == "conversations":
        return _cmd_conversations(args, style)
    if args.command == "tools":
        if args.action != "lint":
            args.usage_error("choose an action: lint")
        from ._lint import lint_target
        from ._mcp import mcp_toolsets

        if args.target is None and not args.mcp:
            args.usage_error("the following arguments are required: target (or --mcp SERVER)")
        return lint_target(args.target, out, style, servers=mcp_toolsets(args.mcp))
    if args.command == "fake-server":
        return _cmd_fake_server(args)
    if args.command == "serve":
        from ._serve import run as run_serve

        return run_serve(args)
    if args.command == "batch":
        if args.action is None:
            args.usage_error("choose an action: run or status")
        from ._batch import run as run_batch

        return run_batch(args)
    if args.command == "mcp":
        if args.action != "serve":
            args.usage_error("choose an action: serve")
        from ._mcp import run as run_mcp

        return run_mcp(args)
    parser.print_help()
    return 1


def _directory(path: Path) -> Path:
    if not path.is_dir():
        raise NotADirectoryError(f"--dir {path} is not a directory")
    return path


def _cmd_chat(args: argparse.Namespace, style: Any) -> int:
    from ._backend import connect
    from ._chat import ChatSession, catch_ctrl_c, chat_loop
    from ._conversations import default_db_path, open_store, render_conversation
    from ._demo import build_agent
    from ._mcp import mcp_toolsets

    out = sys.stdout
    root = _directory(args.dir)
    db = args.db if args.db is not None else default_db_path()
    store = open_store(db)
    with store, ExitStack() as stack:
        conversation = store.load(args.resume) if args.resume else None
        backend = connect(args.model, "chat")
        budget = args.thinking_budget if args.thinking else None
        servers = mcp_toolsets(args.mcp)
        agent = build_agent(
            backend, args.model, root=root, thinking_budget=budget, extra_tools=servers
        )
        stack.enter_context(agent)  # starts the MCP servers; stops them when the chat ends
        out.write(style.paint(backend.banner, "bold", "yellow" if backend.offline else "green"))
        out.write("\n")
        session = ChatSession(agent, store, out, style, conversation)
        if conversation is not None:
            out.write(f"resumed conversation {conversation.id} ({len(conversation)} messages)\n")
            render_conversation(conversation.entries[-4:], out, style)
        else:
            out.write(f"conversation {session.conversation.id} (new)\n")
        out.write(style.paint("type /help for commands, /quit to leave", "dim") + "\n")
        if sys.stdin.isatty():
            import readline  # noqa: F401 - line editing and history for input()

            catch_ctrl_c()  # Ctrl-C cancels a turn, even when started with SIGINT ignored
        with backend.client:
            return chat_loop(session, input, db_label=str(db), echo=not sys.stdin.isatty())


def _cmd_conversations(args: argparse.Namespace, style: Any) -> int:
    from . import _conversations as conv

    if args.action is None:
        args.usage_error("choose an action: list, show, export or delete")
    if args.action == "list" and args.db is None and not conv.default_db_path().exists():
        # A first-time user asking what is saved: nothing yet is an answer, not an error.
        sys.stdout.write(
            f"no conversations yet: `agentkit chat` saves them in {conv.default_db_path()}\n"
        )
        return 0
    with conv.open_store(args.db, create=False) as store:
        if args.action == "list":
            return conv.list_conversations(store, sys.stdout, style, args.limit)
        from ..stores import ConversationNotFoundError

        try:
            return _conversation_action(conv, store, args, style)
        except ConversationNotFoundError as exc:
            # The id was mistyped or is from another database: say where the ids are.
            db = "" if args.db is None else f" --db {args.db}"
            raise _CommandError(f"{exc}; `agentkit conversations list{db}` shows the ids") from exc


def _conversation_action(conv: Any, store: Any, args: argparse.Namespace, style: Any) -> int:
    """`show`, `delete` or `export` of one stored conversation."""
    if args.action == "show":
        return int(conv.show_conversation(store, args.id, sys.stdout, style, cache=args.cache))
    if args.action == "delete":
        return int(conv.delete_conversation(store, args.id, sys.stdout))
    if args.output is not None:
        with args.output.open("wb") as file:
            conv.export_conversation(store, args.id, file, jsonl=args.jsonl)
        sys.stderr.write(f"wrote {args.output}\n")
        return 0
    return int(conv.export_conversation(store, args.id, sys.stdout.buffer, jsonl=args.jsonl))


def _cmd_fake_server(args: argparse.Namespace) -> int:
    from ._fake_server import run

    return run(args)
