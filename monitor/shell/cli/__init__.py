"""The `crisismon` command line. Every command has --help; every failure is one readable line."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from pydantic import ValidationError

# Typer ships its own copy of click; its usage errors are these classes.
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from monitor.shell.cli import (
    accounts,
    backtest,
    consent,
    customers,
    db,
    deliveries,
    demo,
    drill,
    eval_scenarios,
    evaluate,
    feedback,
    incidents,
    playbooks,
    replay,
    report,
    sentiment,
    sentiment_queue,
    service,
    simulate,
    sources,
    topics,
    web,
)

cli = typer.Typer(
    name="crisismon",
    help="Real-time crisis and sentiment monitoring: mentions in, explained Slack alerts out.\n\n"
    "Start here: `crisismon demo` plays a scenario and prints the alert it fires; "
    "`crisismon run` starts the service. Settings come from CRISISMON_* environment variables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
cli.command("run")(service.run)
cli.command("worker")(service.worker)
cli.command("web")(web.web)
cli.command("demo")(demo.demo)
cli.command("replay")(replay.replay_command)
cli.command("backtest")(backtest.backtest_command)
cli.command("simulate")(simulate.simulate_command)
cli.command("feedback")(feedback.feedback_command)
cli.command("sources")(sources.sources_command)
cli.add_typer(incidents.incidents_cli, name="incidents")
cli.add_typer(db.db_cli, name="db")
evaluate.eval_cli.command("scenarios")(eval_scenarios.scenarios_command)
cli.add_typer(evaluate.eval_cli, name="eval")
cli.add_typer(drill.drill_cli, name="drill")
sentiment.sentiment_cli.command("queue")(sentiment_queue.queue_command)
cli.add_typer(sentiment.sentiment_cli, name="sentiment")
customers.customers_cli.command("consent")(consent.consent_command)
cli.add_typer(customers.customers_cli, name="customers")
cli.add_typer(deliveries.deliveries_cli, name="deliveries")
cli.add_typer(customers.segments_cli, name="segments")
cli.add_typer(topics.topics_cli, name="topics")
cli.add_typer(playbooks.playbooks_cli, name="playbooks")
cli.add_typer(playbooks.audit_cli, name="audit")
cli.command("outbox")(playbooks.outbox_command)
cli.add_typer(report.report_cli, name="report")
cli.add_typer(accounts.users_cli, name="users")
cli.add_typer(accounts.tokens_cli, name="tokens")


class CliError(RuntimeError):
    """Raised by commands for an expected failure: printed as one line, exit code 1."""


def _fail(message: str, *, code: int = 1) -> NoReturn:
    print(f"crisismon: error: {message}", file=sys.stderr)
    raise SystemExit(code)


# Failures that are expected and explain themselves in one line, by module: looked up only
# when something was raised, and only in modules already imported (a class from a module that
# never loaded cannot have been raised), so `crisismon --help` does not import SciPy.
_EXPECTED_ERRORS = (
    ("detectors.backtest", "BacktestError"),
    ("detectors.config", "ConfigError"),
    ("detectors.nab_eval", "NabDataError"),
    ("detectors.plot", "PlotUnavailable"),
    ("detectors.sentiment.batch", "BatchError"),
    ("detectors.sentiment.corrections", "CorrectionError"),
    ("detectors.sentiment.training", "DataError"),
    ("monitor.broker", "BrokerError"),
    ("monitor.privacy", "PseudonymKeyError"),
    ("monitor.shell.evaluation.scenario_run", "ScenarioError"),
    ("monitor.shell.service", "ServiceError"),
    ("monitor.storage.db", "DatabaseError"),
    ("monitor.shell.worker", "WorkerError"),
    ("monitor.yamlfile", "ConfigFileError"),
    ("streams.drills", "DrillError"),
    ("streams.replay", "ReplayError"),
    ("streams.sources.config", "SourceConfigError"),
)


def _is_expected(exc: BaseException) -> bool:
    if isinstance(exc, CliError):
        return True
    loaded = (getattr(sys.modules[m], name) for m, name in _EXPECTED_ERRORS if m in sys.modules)
    return isinstance(exc, tuple(loaded))


def main() -> None:
    try:
        # Not standalone: click's usage errors reach us instead of being drawn as a box.
        outcome = cli(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        print(exc.format_message())  # the help text itself
        raise SystemExit(exc.exit_code) from None
    except ClickException as exc:
        _fail(_usage_line(exc), code=exc.exit_code)
    except typer.Abort:
        _fail("aborted")
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        _fail(f"invalid setting CRISISMON_{field.upper()}: {message}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as exc:
        if not _is_expected(exc):
            raise
        _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    # A command that ends with typer.Exit(code) returns the code instead of raising.
    if isinstance(outcome, int) and not isinstance(outcome, bool) and outcome != 0:
        raise SystemExit(outcome)


def _usage_line(exc: ClickException) -> str:
    """One line for a usage error, pointing at the command's --help."""
    message = " ".join(exc.format_message().split())
    command_path = getattr(getattr(exc, "ctx", None), "command_path", None)
    if command_path:
        return f"{message} (see `{command_path} --help`)"
    return message
