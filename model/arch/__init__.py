"""The architecture core: what Arm's rules (Arm ARM DDI0487, register descriptions DDI0601)
say about VMSAv8-64 translation with FEAT_LPA2, FEAT_LPA and FEAT_LVA.

Field tables of every register and descriptor, CPU features and the IMPLEMENTATION DEFINED
choices, table geometry, descriptor address formats, memory attributes, the walker, faults and
their encodings, and the AT instructions. Nothing here knows about presets, links, pages or
teaching; everything else in ``model`` is built on it.
"""
