"""The architecture core: what Arm's rules (Arm ARM DDI0487, register descriptions DDI0601)
say about VMSAv8-64 translation with FEAT_LPA2, FEAT_LPA and FEAT_LVA.

Field tables of every register and descriptor, CPU features and the IMPLEMENTATION DEFINED
choices, table geometry, descriptor address formats, memory attributes, the walker, faults and
their encodings, and the AT instructions. Nothing here knows about presets, links, pages or
teaching; everything else in ``model`` is built on it.

A walk in the order of the architecture's pseudocode: ``params`` (each stage's parameters from
the registers), ``plans`` (those parameters with every shift and mask the walk needs, derived
once per register set and cached), ``checks`` (may the walk start), ``tablewalk`` (fetch,
descriptor type, table step, leaf step, permission step, and the one exit where a fault gets
its level and stage), ``updates`` (the hardware update of the Access flag and dirty state,
FEAT_HAFDBS), ``permissions`` and ``attrs`` (what the leaf allows and is, and the two-stage
combination under HCR_EL2.FWB/CD), ``walker``
(which stages run and how their results combine), ``syndromes`` (PAR_EL1, ESR_ELx, FAR,
HPFAR_EL2), ``fault_rules`` (every fault's sentence and fix), ``result`` (the records renderers
read), ``at`` (the AT instructions).
"""
