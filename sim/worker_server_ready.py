"""Imported last by a worker fork server (:func:`sim.workers.worker_context`): its imports
are done, so the garbage collector, paused while they ran, resumes
(:func:`sim.workers.resume_collection`)."""

from sim.workers import resume_collection

resume_collection()
