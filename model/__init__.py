"""LPA2 Explorer model: an executable description of AArch64 VMSAv8-64 translation with
FEAT_LPA2 (and FEAT_LPA / FEAT_LVA). Standard library only.

Layout
------
``model.arch``     the architecture core: field tables, CPU features, geometry, descriptor
                   formats, attributes, the walker, faults and their encodings, AT.
``model.explore``  what the explorer works with: configurations and presets, background
                   memory, quick actions, two walks compared, the plain-text walk.
``model.teach``    teaching content: tour, glossary, reference tables, decoder, Linux/KVM facts,
                   the KVM configuration matrix. It explains the core and never decides a walk.

Public API
----------
``walk(regime, regs, memory, address, access, cpu=CPU_PRESETS["max"], choices=Choices())``
    Walk the tables and return a ``WalkResult``: per-stage ``params`` (``WalkParams``, and
    ``params[k].facts()``: each parameter with its reason), every ``LevelRead`` (descriptor
    address, raw value, decoded fields, nested stage-2 walk of the table address; all reads of
    both stages in walk order: ``result.reads()``), ``output_address`` with ``oa_sources``
    (``BitSource`` provenance of each bit, named by ``result.source_label``), ``attrs``
    (``Stage1Attributes``, ``Stage2Attributes``, ``CombinedAttributes``), ``perms``
    (``Permissions``, ``TwoStagePermissions``), ``fault`` (``Fault``: rule, level, stage,
    S1PTW, IPA, WnR), ``warnings`` (``WalkWarning``), ``choices_used``, ``par``,
    ``syndrome`` (ESR_ELx, FAR, HPFAR_EL2) and ``descriptor_reads``. ``result.to_dict()`` is
    JSON-serialisable.
    Regimes (``Regime``): ``EL10`` (stage 1 of EL1&0; table reads through stage 2 when
    HCR_EL2.VM=1), ``EL2`` (E2H=0), ``EL20`` (E2H=1, VHE), ``STAGE2`` (stage 2 alone) and
    ``EL10_S12`` (two stages). ``Access(el, kind)`` with kind "read" | "write" | "exec", or a
    string such as "el0w".
``at(op, va, regs, memory, cpu=None, choices=None) -> int``
    PAR_EL1 after ``AT <op>`` (s1e1r s1e1w s1e0r s1e0w s1e2r s1e2w s12e1r s12e1w s12e0r
    s12e0w), applying SCTLR.M, HCR_EL2.{VM,E2H,TGE}. ``at_walk`` returns the full result.
``regs``: mapping of register names (TCR_EL1, TTBR0_EL1, ..., VTCR_EL2, VTTBR_EL2, HCR_EL2)
    to ints, absent = 0. ``memory``: mapping {pa: u64} or a ``Memory`` with ``read64``;
    ``StateMemory`` overlays set descriptors on ``BackgroundTables`` (fixed tables built once
    from a ``TablesOrigin``: see ``model.explore.background``).
``CPU`` (frozen; ``CPU.from_id_regs(mmfr0, mmfr1, mmfr2)``, ``cpu.id_regs()``), ``CPU_PRESETS``
    (slug -> ``CPU`` carrying ``slug``, ``title`` and ``description``), ``Choices`` (the
    IMPLEMENTATION DEFINED options), ``LAYOUTS`` (register/descriptor field tables, see
    ``model.arch.fields``), ``fsc_name(code)``, ``FaultKind``, ``FAULT_RULES`` (the catalogue
    of fault rules) and the ``geometry`` module.

Where each step of a walk lives (``model.arch``): ``params`` derives a stage's parameters
from the registers, ``plans`` keeps them with the per-level masks once per register set,
``checks`` decides whether the walk may start, ``tablewalk`` walks the
tables step by step (fetch, descriptor type, table step, leaf step, permission step),
``permissions`` and ``attrs`` say what the leaf allows and is, ``walker`` puts the stages
together, ``syndromes`` encodes PAR_EL1, ESR_ELx, FAR and HPFAR_EL2, ``fault_rules`` holds
every fault's sentence and hint, ``at`` runs the AT instructions.
"""

from .arch import geometry
from .arch.at import AT_OPS, at, at_plan, at_walk
from .arch.attrs import CombinedAttributes, OutputAttributes, Stage1Attributes, Stage2Attributes
from .arch.cpu import CHOICE_HELP, CPU, CPU_PRESETS, Choices
from .arch.descriptors import BitSource
from .arch.fault_rules import RULES as FAULT_RULES
from .arch.faults import FSC_NAMES, Fault, FaultKind, fsc_for, fsc_name
from .arch.fields import LAYOUTS, Field, Layout
from .arch.memory import DictMemory, Memory
from .arch.params import ParamFact
from .arch.permissions import ELAccess, Permissions, TwoStagePermissions
from .arch.syndromes import Syndrome
from .arch.walker import (
    Access,
    LevelRead,
    ReadRef,
    Regime,
    StageWalk,
    WalkParams,
    WalkResult,
    WalkWarning,
    walk,
)
from .explore.background import BackgroundTables, StateMemory, TablesOrigin, tables_for

__all__ = [
    "AT_OPS",
    "Access",
    "BitSource",
    "CHOICE_HELP",
    "CPU",
    "CPU_PRESETS",
    "Choices",
    "CombinedAttributes",
    "DictMemory",
    "ELAccess",
    "FAULT_RULES",
    "FSC_NAMES",
    "Fault",
    "FaultKind",
    "Field",
    "LAYOUTS",
    "Layout",
    "LevelRead",
    "Memory",
    "OutputAttributes",
    "ParamFact",
    "Permissions",
    "ReadRef",
    "Regime",
    "Stage1Attributes",
    "Stage2Attributes",
    "StageWalk",
    "Syndrome",
    "TwoStagePermissions",
    "BackgroundTables",
    "StateMemory",
    "TablesOrigin",
    "tables_for",
    "WalkParams",
    "WalkResult",
    "WalkWarning",
    "at",
    "at_plan",
    "at_walk",
    "fsc_for",
    "fsc_name",
    "geometry",
    "walk",
]
