"""Parameter groups as compiled rules take them: ``RecruitmentParams(threshold=0.2)`` here
builds the dataclass (validated defaults and all) and returns its named tuple."""

from __future__ import annotations

from typing import Any

from sim import params
from sim.compiled import as_tuple


def _tupled(cls: type) -> Any:
    def make(**kw: Any) -> Any:
        return as_tuple(cls(**kw))

    make.__name__ = cls.__name__
    return make


RecruitmentParams = _tupled(params.RecruitmentParams)
LegitimacyParams = _tupled(params.LegitimacyParams)
EscalationParams = _tupled(params.EscalationParams)
TargetingParams = _tupled(params.TargetingParams)
AttackParams = _tupled(params.AttackParams)
PakistanParams = _tupled(params.PakistanParams)
ChinaParams = _tupled(params.ChinaParams)
IranParams = _tupled(params.IranParams)
InvestorParams = _tupled(params.InvestorParams)
