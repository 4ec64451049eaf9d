"""The JSON API: walk any state without the page (``POST /api/walk``)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from app.links import Links
from app.schemas import CpuIdRegisters, WalkRequest, WalkResponse
from app.state import build_config, config_to_dict, encode
from model import CPU, CPU_PRESETS, walk
from model.explore.configs import run, state_memory

router = APIRouter(prefix="/api", tags=["api"])


def _cpu_from_ids(ids: CpuIdRegisters) -> tuple[str | None, CPU]:
    """The preset slug whose ID registers these are (so the state can be linked), and the CPU."""
    values = (ids.id_aa64mmfr0_el1, ids.id_aa64mmfr1_el1, ids.id_aa64mmfr2_el1)
    for slug, cpu in CPU_PRESETS.items():
        if tuple(cpu.id_regs()) == values:
            return slug, cpu
    return None, CPU.from_id_regs(*values)


@router.post(
    "/walk",
    response_model=WalkResponse,
    summary="Walk a translation",
    responses={422: {"description": "The request is not valid; `detail` says which field"}},
)
def api_walk(body: WalkRequest, request: Request) -> WalkResponse:
    """Walks the translation described by the registers, memory, address, access, regime, CPU
    and IMPLEMENTATION DEFINED choices (anything left out comes from ``preset``) and answers
    the model's full result in ``walk``, with the canonical link of the same state."""
    cpu_slug: str | None = None
    custom_cpu: CPU | None = None
    if isinstance(body.cpu, CpuIdRegisters):
        cpu_slug, custom_cpu = _cpu_from_ids(body.cpu)
    elif body.cpu is not None:
        cpu_slug = body.cpu
    try:
        config = build_config(
            preset=body.preset,
            regime=body.regime,
            cpu=cpu_slug,
            access=body.access,
            address=body.address,
            registers=body.registers,
            memory=body.memory,
            choices=body.choices,
            refill=body.refill,
        )
    except ValueError as error:
        raise HTTPException(status_code=422, detail=str(error)) from None

    if custom_cpu is not None and cpu_slug is None:
        result = walk(
            config.regime,
            config.registers,
            state_memory(config),
            config.address,
            config.access,
            cpu=custom_cpu,
            choices=config.choices,
        )
        data = config_to_dict(config)
        data["cpu"] = {"id_regs": [f"{v:#x}" for v in custom_cpu.id_regs()]}
        return WalkResponse(query=None, link=None, config=data, walk=result.to_dict())

    result = run(config)
    query = encode(config)
    links = Links.of(request)
    return WalkResponse(
        query=query,
        link=links.page(query),
        short_link=links.short_of(query),
        txt_url=links.txt(query),
        config=config_to_dict(config),
        walk=result.to_dict(),
    )
