"""The store's upkeep commands of the ``tutornb`` console script: ``doctor``, ``compact``, ``cleanup``."""

from __future__ import annotations

import argparse

from tutornb.cli.common import EXIT_FAILED, EXIT_OK, CLIError, open_store, store_dir


def cmd_doctor(args: argparse.Namespace) -> int:
    from tutornb.store.doctor import check_store, repair_store

    folder = store_dir(args)
    if not folder.is_dir():
        raise CLIError(f"no tutornb store at {folder} (use --store DIR)")
    print(f"Store: {folder}")
    findings = check_store(folder)
    for finding in findings:
        print(f"  {finding}")
    problems = [f for f in findings if f.level in {"warning", "error"}]
    if not args.repair:
        if problems:
            print("Problems found; run `tutornb doctor --repair` to fix them.")
        else:
            print("The store is healthy.")
        return EXIT_FAILED if any(f.level == "error" for f in findings) else EXIT_OK
    print("Repairing:")
    for finding in repair_store(folder):
        print(f"  {finding}")
    after = check_store(folder)
    remaining = [f for f in after if f.level == "error"]
    for finding in remaining:
        print(f"  still: {finding}")
    print("The store is healthy." if not remaining else "Some problems remain.")
    return EXIT_OK if not remaining else EXIT_FAILED


def cmd_compact(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        before = store.stats().bytes
        store.compact()
        after = store.stats().bytes
    finally:
        store.close()
    print(f"Compacted: {before} -> {after} bytes")
    return EXIT_OK


def cmd_cleanup(args: argparse.Namespace) -> int:
    if args.older_than is None and args.max_sessions is None:
        raise CLIError("give --older-than DAYS or --max-sessions N")
    if args.older_than is not None and args.older_than < 0:
        raise CLIError("--older-than must be 0 or more")
    store = open_store(args)
    try:
        removed = store.cleanup(older_than_days=args.older_than, max_sessions=args.max_sessions)
    finally:
        store.close()
    print(f"Deleted {len(removed)} session{'s' if len(removed) != 1 else ''}.")
    for sid in removed:
        print(f"  {sid}")
    return EXIT_OK


def add_maintenance_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Adds ``doctor``, ``compact`` and ``cleanup`` to the parser."""
    p = sub.add_parser("doctor", parents=[common], help="check the store; --repair fixes it")
    p.add_argument("--repair", action="store_true")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("compact", parents=[common], help="rewrite the snapshot now")
    p.set_defaults(func=cmd_compact)

    p = sub.add_parser("cleanup", parents=[common], help="delete old sessions (closed first)")
    p.add_argument("--older-than", type=float, metavar="DAYS")
    p.add_argument("--max-sessions", type=int, metavar="N")
    p.set_defaults(func=cmd_cleanup)
