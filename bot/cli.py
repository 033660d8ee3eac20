"""Command line: parse, call a use case, print. No logic lives here.

Exit codes, one rule everywhere: 0 done, or nothing to do (Git already is as asked); 2 refused or bad
input, nothing changed; 1 an operation failed (Git remote, registry), or a report came back incomplete.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import BotError, InvalidInput, NothingToDo

if TYPE_CHECKING:
    from bot.actions.base import Args, Outcome
    from bot.promotion.ports import Context
    from bot.settings import Settings

Handler = Callable[[argparse.Namespace], int]


def _read_text(arg: str) -> str:
    if arg == "-":
        return sys.stdin.read()
    try:
        return Path(arg).read_text(encoding="utf-8")
    except OSError as err:  # a file the person named: their input, so a refusal (exit 2), not a failure
        raise InvalidInput(f"Cannot read {arg}: {err.strerror}.") from err


def cmd_explain_policy(args: argparse.Namespace) -> int:
    import yaml

    from bot.core.policy import PolicySpec, database_order, select

    try:
        docs = [d for d in yaml.safe_load_all(_read_text(args.policy)) if isinstance(d, dict)]
    except yaml.YAMLError as err:
        raise InvalidInput(f"{args.policy} is not valid YAML.") from err
    policies = [d for d in docs if d.get("kind") == "ImagePolicy"]
    names = [str((d.get("metadata") or {}).get("name", "")) for d in policies]
    if args.name is not None:
        policies = [d for d, n in zip(policies, names, strict=True) if n == args.name]
    if len(policies) != 1:
        found = f"found {len(policies)}" if args.name is None else f"none is named {args.name!r}"
        raise InvalidInput(
            f"{args.policy} must hold exactly one ImagePolicy ({found}).",
            hint=f"Pick one with --name: {', '.join(names)}." if names else "",
        )
    spec = PolicySpec.from_manifest(policies[0])
    tags = [t for t in (ln.strip() for ln in _read_text(args.tags).splitlines()) if t]
    print(select(spec, database_order(tags)))
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gitops-promotion-bot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _settings(args: argparse.Namespace) -> Settings:
    from bot import settings

    return settings.load(args.config)


def _who(args: argparse.Namespace) -> str:
    from bot.core.commit_message import person

    raw = args.who or getpass.getuser()
    if "<" in raw and raw.endswith(">"):
        name, ident = raw[:-1].split("<", 1)
        return person(name.strip(), ident.strip())
    return person(raw, f"cli:{raw}")


def _ctx(args: argparse.Namespace) -> Context:
    from bot import wiring

    return wiring.context(_settings(args))


def _act(args: argparse.Namespace, cmd: Args, *, dry_run: bool = False, force: bool = False) -> Outcome[Any]:
    """Run one action the way every front end does: the registry picks it by the command's kind."""
    from bot import wiring
    from bot.actions.base import Run

    settings = _settings(args)
    store = wiring.state_store(settings) if cmd.kind == "schedule" else None
    action = wiring.actions(store)[cmd.kind]
    # A Request-id trailer on every commit, as from Slack: `history` and the logs can name the run.
    run = Run(who=_who(args), request_id=uuid.uuid4().hex, dry_run=dry_run, force=force)
    return action.run(wiring.context(settings), cmd, run)


def cmd_versions(args: argparse.Namespace) -> int:
    from bot import text_output, wiring
    from bot.promotion.versions import versions

    settings = _settings(args)
    # The state store `serve` writes Flux's events to: the applied column reads the same file.
    with wiring.state_store(settings) as store:
        report = versions(wiring.context(settings), args.service, applied=store)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(text_output.versions(report, text_output.Style(sys.stdout.isatty())))
    # What could not be read (a registry down) is printed above; the exit code says the report is partial.
    return 1 if report.incomplete else 0


def cmd_release(args: argparse.Namespace) -> int:
    from bot.actions.release import ReleaseCmd

    services = tuple(args.service.split(",")) if args.service else ()
    out = _act(args, ReleaseCmd(args.tag, args.env, services), dry_run=args.dry_run)
    for p in out.plan:
        state = p.noop_reason if p.noop else f"{p.source_tag} → {p.target_tag}"
        print(f"{p.service}: {state}")
    print("dry run: nothing written" if out.dry_run else f"released: one commit {(out.commit or '')[:12]}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from bot.actions.promote import PromoteCmd
    from bot.promotion.promote import describe

    if args.to == "to" and args.tag in _settings(args).pipeline:
        return cmd_release(args)  # `promote staging to production`: a release set, one commit
    if args.to != "to":
        raise InvalidInput(
            "Usage: promote TAG to ENV", hint="e.g. promote staging-v0.0.2-b2c3d4e-1738860123 to production"
        )
    cmd = PromoteCmd(args.tag, args.env, args.service, args.reason or "")
    out = _act(args, cmd, dry_run=args.dry_run, force=args.force)
    print("\n".join(describe(out.plan)))
    if out.plan.noop:
        return 0
    if out.dry_run:
        print("dry run: nothing written")
    else:
        print(f"promoted: {out.plan.target_tag} committed as {(out.commit or '')[:12]}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from bot.actions.rollback import RollbackCmd

    out = _act(args, RollbackCmd(args.env, args.service, args.to), dry_run=args.dry_run)
    p = out.plan
    print(f"{p.service} in {p.env}: {p.from_tag or '?'} → {p.to_tag}")
    for ch in p.edit.changes:
        print(f"  {ch.file}: {ch.old} → {ch.new}")
    if p.hold:
        print(
            f"  held: its markers now name HELD:{p.hold}, which no Flux automation writes (every other marker stays "
            f"automated); lift with: gitops-bot resume {p.env} {p.service}"
        )
    for w in p.warnings:
        print(f"  warning: {w}")
    print("dry run: nothing written" if out.dry_run else f"rolled back: committed as {(out.commit or '')[:12]}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from bot.actions.resume import ResumeCmd

    out = _act(args, ResumeCmd(args.env, args.service, args.force))
    p = out.plan
    if p.edit is None:
        print(f"{p.service} is not held in {p.env}; nothing to do.")
        return 0
    for w in p.warnings:
        print(f"warning: {w}")
    print(f"resumed {p.service} in {p.env} (automation {p.automation}): committed as {(out.commit or '')[:12]}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from bot.promotion.check import check

    settings = _settings(args)
    report = check(_ctx(args), [e for e in settings.pipeline if settings.env(e).promoters.anyone])
    print(report.render())
    return 0 if report.ok else 2


def cmd_demo(args: argparse.Namespace) -> int:
    from bot import demo

    return demo.run(Path(args.dir) if args.dir else None, color=sys.stdout.isatty())


def cmd_serve(args: argparse.Namespace) -> int:
    from bot import service

    return service.serve(args.config, args.listen, log_format=args.log_format)


def cmd_freeze(args: argparse.Namespace) -> int:
    from bot.actions.freeze import FreezeCmd

    words = list(args.when)
    if not words:
        raise InvalidInput("Say how long: a duration like 2h, or `until <ISO time>`.")
    until = words[0] == "until" and len(words) > 1
    when, reason = (words[1], words[2:]) if until else (words[0], words[1:])
    out = _act(args, FreezeCmd(args.env, when, until, " ".join(reason)))
    sha = out.commit
    print(f"{args.env} frozen; committed as {(sha or '')[:12]}" if sha else f"{args.env} was already frozen so.")
    return 0


def cmd_unfreeze(args: argparse.Namespace) -> int:
    from bot.actions.freeze import UnfreezeCmd

    sha = _act(args, UnfreezeCmd(args.env)).commit
    print(f"{args.env} unfrozen; committed as {sha[:12]}" if sha else f"{args.env} had no manual freeze.")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from bot.promotion.history_view import history

    entries = history(_ctx(args), args.env, args.service, args.limit)
    for entry in entries:
        print(entry.line())
    if not entries:
        print(f"Nothing recorded in {args.env}{' for ' + args.service if args.service else ''} yet.")
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from bot import wiring
    from bot.actions.promote import PromoteCmd
    from bot.core.clock_text import utc
    from bot.promotion import schedule as schedules

    store = wiring.state_store(_settings(args))
    if args.action == "list":
        for item in schedules.listed(store):
            print(f"{item.id}  {utc(item.at)}  {item.tag} → {item.env}  by {item.who}")
        return 0
    if args.action == "cancel":
        if len(args.rest) != 1 or not schedules.cancel(store, args.rest[0]):
            raise InvalidInput("Name one waiting scheduled promotion by its id (see `schedule list`).")
        print(f"cancelled {args.rest[0]}")
        return 0
    words = args.rest
    if len(words) != 5 or words[1] != "to" or words[3] != "at":
        raise InvalidInput("Usage: schedule add TAG to ENV at TIME", hint="TIME: 2026-11-25T14:00 or 14:00 (UTC)")
    # Planned now, exactly as Slack's `/promote … at` is: an impossible promotion is refused today.
    item = _act(args, PromoteCmd(words[0], words[2], at=words[4])).plan
    print(f"scheduled {item.id}: {item.tag} → {item.env} at {utc(item.at)} (checked again when it runs)")
    print("Only a running `gitops-bot serve` (with the same state_dir) runs the queue.")
    return 0


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915 - one block per verb, read top to bottom
    p = argparse.ArgumentParser(prog="gitops-bot", description="Promote and roll back Flux-managed images.")
    p.add_argument("--version", action="version", version=f"gitops-bot {_version()}")
    p.add_argument("-c", "--config", help="config file (default: $GITOPS_BOT_CONFIG or config/bot.yaml)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what the adapters do")
    # The same options after the subcommand (`gitops-bot versions -c bot.yaml`); SUPPRESS keeps a value
    # given before it when they are not repeated.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    subs = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
        return subs.add_parser(name, parents=[common], help=help, description=description)

    ep = add(
        "explain-policy",
        help="which tag would Flux pick?",
        description="Print the tag a Flux ImagePolicy would select from a tag list, or Flux's own error. "
        "The list is treated as Flux's ImageRepository stores it (default exclusion list, byte-descending).",
    )
    ep.add_argument("policy", help="a YAML file holding one ImagePolicy")
    ep.add_argument("--tags", required=True, help="file with one tag per line, or - for stdin")
    ep.add_argument("--name", help="the ImagePolicy to use when the file holds several")
    ep.set_defaults(handler=cmd_explain_policy)

    v = add("versions", help="what runs where, and what Flux would pick next")
    v.add_argument("service", nargs="?")
    v.add_argument("--json", action="store_true", help="one JSON object (the documented contract)")
    v.set_defaults(handler=cmd_versions)

    pr = add("promote", help="promote a build to the next environment")
    pr.add_argument("tag")
    pr.add_argument("to", metavar="to")
    pr.add_argument("env")
    pr.add_argument("--service")
    pr.add_argument("--reason")
    pr.add_argument("--as", dest="who", metavar="WHO", help="person recorded in the trailers (default: you)")
    pr.add_argument("--dry-run", action="store_true", help="print the plan; write nothing")
    pr.add_argument("--force", action="store_true", help="break-glass through a freeze (listed users only)")
    pr.set_defaults(handler=cmd_promote)

    rb = add("rollback", help="revert the newest bump and hold that service in that env")
    rb.add_argument("env")
    rb.add_argument("service", nargs="?")
    rb.add_argument("--to", metavar="TAG", help="go back to a tag this env ran before")
    rb.add_argument("--as", dest="who", metavar="WHO")
    rb.add_argument("--dry-run", action="store_true")
    rb.set_defaults(handler=cmd_rollback)

    rs = add("resume", help="lift a rollback hold")
    rs.add_argument("env")
    rs.add_argument("service", nargs="?")
    rs.add_argument("--force", action="store_true", help="resume even if Flux would then deploy another tag")
    rs.add_argument("--as", dest="who", metavar="WHO")
    rs.set_defaults(handler=cmd_resume)

    fz = add("freeze", help="block promotions into ENV and hold its services, recorded in Git")
    fz.add_argument("env")
    fz.add_argument("when", nargs=argparse.REMAINDER, metavar="DURATION|until TIME REASON…")
    fz.add_argument("--as", dest="who", metavar="WHO")
    fz.set_defaults(handler=cmd_freeze)

    uf = add("unfreeze", help="end manual freezes of ENV and resume what they held")
    uf.add_argument("env")
    uf.add_argument("--as", dest="who", metavar="WHO")
    uf.set_defaults(handler=cmd_unfreeze)

    hi = add("history", help="recent promotions, rollbacks and automation bumps, from Git")
    hi.add_argument("env")
    hi.add_argument("service", nargs="?")
    hi.add_argument("-n", "--limit", type=int, default=20)
    hi.set_defaults(handler=cmd_history)

    sc = add("schedule", help="promote later: add TAG to ENV at TIME | list | cancel ID")
    sc.add_argument("action", choices=["add", "list", "cancel"])
    sc.add_argument("rest", nargs="*")
    sc.add_argument("--as", dest="who", metavar="WHO")
    sc.set_defaults(handler=cmd_schedule)

    ck = add("check", help="validate config, repository and registries; print the topology")
    ck.set_defaults(handler=cmd_check)

    sv = add("serve", help="run the Slack bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)")
    sv.add_argument("--listen", default="0.0.0.0:8080", metavar="HOST:PORT", help="HTTP listener (default %(default)s)")
    sv.add_argument("--log-format", choices=("json", "text"), default="json",
                    help="one JSON object per line (default) or text for a terminal")  # fmt: skip
    sv.set_defaults(handler=cmd_serve)

    dm = add("demo", help="run the whole story locally (no Slack, no cluster)")
    dm.add_argument("--dir", help="work in this directory instead of a new temp dir")
    dm.set_defaults(handler=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Adapters log their own warnings; on the command line the one error sentence below is the message,
    # so library chatter shows only with -v.
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s"
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except NothingToDo as err:
        print(err)
        return err.exit_code
    except BotError as err:
        print(f"gitops-bot: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
