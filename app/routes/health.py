from fastapi import APIRouter

from app import __version__

router = APIRouter()


@router.get("/healthz", tags=["service"], summary="Liveness check")
def healthz() -> dict[str, str]:
    """Answers 200 with the running version; the container HEALTHCHECK calls it."""
    return {"status": "ok", "version": __version__}
