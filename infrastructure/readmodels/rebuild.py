"""Blue/green rebuild: fill a new generation from the whole log, switch to it once it is caught up."""

from __future__ import annotations

from dataclasses import dataclass

from domain.helpdesk import HelpDesk
from infrastructure.readmodels.store import ReadModels
from infrastructure.readmodels.worker import Progress, ProjectionWorker

REBUILD_BATCH = 5000


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What a rebuild did."""

    old_generation: int
    new_generation: int
    position: int
    parked: int = 0  # aggregates the new generation set aside (`ledgerdesk projections parked`)


def rebuild(desk: HelpDesk, read_models: ReadModels, progress: Progress | None = None) -> Rebuilt:
    """Rebuild the ticket read models into the next generation while the current one keeps serving.

    Switches only after the new generation has caught up with the log's head. Events recorded
    after that are applied by the serving worker, which follows the switch. The generation
    before the old one is dropped; the old one stays until the next rebuild, so readers that
    still hold the old pointer for a moment read consistent tables. An event it cannot apply
    parks its aggregate in the new generation, as the worker does, and the rebuild goes on.
    """
    old = read_models.active_generation(fresh=True)
    new = old + 1
    read_models.drop(new)  # leftovers of an interrupted rebuild
    worker = ProjectionWorker(desk, read_models, batch_size=REBUILD_BATCH, generation=new)
    worker.catch_up(progress)
    read_models.generations.switch(new)
    position = worker.catch_up(progress)
    if old > 1:
        read_models.drop(old - 1)
    parked = len(read_models.view(new).parked())
    return Rebuilt(old_generation=old, new_generation=new, position=position, parked=parked)
