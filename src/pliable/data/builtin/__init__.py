"""Built-in example tasks, with data shipped in the package::

from pliable.data.builtin import list_tasks, load_task

task = load_task("tickets")
compiled = pl.BootstrapFewShot(task.metric, **settings).compile(
    task.program_factory(), trainset=task.trainset, valset=task.devset
)
"""

from pliable.data.builtin.tasks import Task, list_tasks, load_task

__all__ = ["Task", "list_tasks", "load_task"]
