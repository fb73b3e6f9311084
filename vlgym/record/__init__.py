"""Episode recording in one on-disk layout (docs/recording.md), the browser viewer, and dataset export.

Writing: :class:`vlgym.wrappers.RecordEpisode` (any env) on top of :class:`EpisodeWriter`; ``vlgym eval --record``;
the trainer's ``record`` settings. Reading: :func:`find_runs`, :func:`load_episode`. Viewing: ``vlgym view``.
Datasets: ``vlgym export`` / ``vlgym record`` (Hugging Face ``datasets``, Parquet).
"""

from vlgym.record.reader import Run, find_runs, load_episode
from vlgym.record.writer import FORMAT, EpisodeWriter, agent_notes, claim_episode_dir, write_run

__all__ = ["FORMAT", "EpisodeWriter", "Run", "agent_notes", "claim_episode_dir", "find_runs", "load_episode",
           "write_run"]
