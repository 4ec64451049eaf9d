"""QEMU's two-stage memory attribute combination (``combine_cacheattrs`` in QEMU's
target/arm/ptw.c), as far as it departs from the architecture, for the deviation rules that
name each departure (``deviations.py``). Everything else is the model's own combination."""

from __future__ import annotations

from model.arch.attrs import S2_MEMATTR_BYTES, combine_attrs, fwb_combine, is_device

NORMAL_NC = 0x44


def qemu_device_combine(s1: int, s2: int) -> int | None:
    """QEMU's combined Device type when either attribute is Device (combined_attrs_nofwb),
    else None: it tests the low nibble of *both* bytes, so a Normal Inner-Non-cacheable byte
    (low nibble 0x4) counts as Device-nGnRE."""
    if (s1 >> 4) and (s2 >> 4):
        return None
    s1lo, s2lo = s1 & 0xF, s2 & 0xF
    if s1lo == 0 or s2lo == 0:
        return 0x00
    if s1lo == 4 or s2lo == 4:
        return 0x04
    if s1lo == 8 or s2lo == 8:
        return 0x08
    return 0x0C


def qemu_two_stage_attr(s1: int, memattr: int, fwb: bool, cd: bool, on: set) -> int:
    """The combined attribute byte QEMU gives, with the departures named in ``on``:

    * ``s2-attr-combine-device`` (FWB=0): the Device type test above; HCR_EL2.CD=1 first
      turns a Normal stage-2 attribute into 0x44 (convert_stage2_attrs), which then counts
      as Device-nGnRE next to a Device stage 1;
    * ``fwb-device-stage2-type`` (FWB=1): stage-2 Device gives stage 2's Device type even
      when stage 1's is more restrictive (combined_attrs_fwb);
    * ``fwb-ignores-cd`` (FWB=1): HCR_EL2.CD is not applied to the FWB result.
    """
    if fwb:
        if not memattr & 0b100 and "fwb-device-stage2-type" in on:
            attr = (memattr & 3) << 2
        else:
            attr = fwb_combine(s1, memattr)
        if cd and not is_device(attr) and "fwb-ignores-cd" not in on:
            attr = NORMAL_NC
        return attr
    s2 = S2_MEMATTR_BYTES[memattr]
    if cd and not is_device(s2):
        s2 = NORMAL_NC
    if "s2-attr-combine-device" in on:
        device = qemu_device_combine(s1, s2)
        if device is not None:
            return device
    return combine_attrs(s1, s2)
