"""The rules' thresholds are built in one place (frontdoor.wiring.case_rules), from the same
settings the scheduler reads: the deadlines a case stores are the ones the sweeps enforce."""

from __future__ import annotations

from dataclasses import replace

from bot.cases import CaseRules
from bot.sweeps import SchedulerConfig
from frontdoor.scheduling import scheduler_config
from frontdoor.settings import Settings
from frontdoor.wiring import case_rules


def _settings() -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, frontdoor_daily_case_cap=9, frontdoor_reopen_days=12,
        frontdoor_first_response_hours=8, frontdoor_first_response_urgent_hours=2,
        frontdoor_evaluation_days=3, frontdoor_pending_auto_close_days=5,
        frontdoor_resolved_auto_close_days=4)


def test_the_rules_take_every_threshold_from_the_settings() -> None:
    rules = case_rules(_settings())

    assert (rules.daily_case_cap, rules.reopen_days, rules.first_response_hours,
            rules.first_response_urgent_hours, rules.evaluation_days,
            rules.pending_auto_close_days, rules.resolved_auto_close_days) == (9, 12, 8, 2, 3, 5, 4)


def test_the_deadlines_a_case_stores_are_the_ones_the_scheduler_enforces() -> None:
    settings = _settings()
    scheduler: SchedulerConfig = scheduler_config(settings)

    assert case_rules(settings) == scheduler.case_rules(case_rules(settings))
    # Unset, the settings give the rules' own defaults (no SMTP server: no email notices).
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert case_rules(defaults) == replace(CaseRules(), email_notifications=False)
