"""Micro-batching: requests that arrive together are processed by one call on the pipeline's thread.

Each request submits a job (its texts) and awaits its future. A batcher's task takes the first waiting
job, then keeps taking jobs for at most `max_wait` seconds or until `max_items` texts are gathered, and
hands the whole batch to `process` on the executor, off the event loop. Jobs that arrive while a batch
runs wait in the queue and form the next batch at once, so under load batches fill up by themselves and
throughput approaches one `nlp.pipe` over all texts. `process` returns one result per job, or an
exception for a job that failed alone; the other jobs of its batch are answered normally.
"""
import asyncio
from concurrent.futures import Executor
from typing import Callable, Generic, List, Optional, Tuple, TypeVar, Union

Job = TypeVar("Job")
Result = TypeVar("Result")


class MicroBatcher(Generic[Job, Result]):
    """Gather concurrent jobs into batches for `process`, run on `executor`."""

    def __init__(
        self,
        process: Callable[[List[Job]], List[Union[Result, Exception]]],
        *,
        executor: Executor,
        size: Callable[[Job], int],
        max_items: int,
        max_wait: float,
    ) -> None:
        self.process = process
        self.executor = executor
        self.size = size
        self.max_items = max_items
        self.max_wait = max_wait
        self._queue: Optional["asyncio.Queue[Tuple[Job, asyncio.Future]]"] = None
        self._task: Optional[asyncio.Task] = None

    def start(self) -> None:
        """Start gathering batches on the running event loop (the server's start-up)."""
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop gathering; jobs still waiting are cancelled (the server's shutdown)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def submit(self, job: Job) -> Result:
        """Queue `job` and wait for its result (or its exception)."""
        if self._queue is None or not self.running:
            raise RuntimeError("MicroBatcher.submit called before start()")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        await self._queue.put((job, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            count = self.size(batch[0][0])
            deadline = loop.time() + self.max_wait
            while count < self.max_items:
                if self._queue.empty():
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self._queue.get(), remaining)
                    except asyncio.TimeoutError:
                        break
                else:
                    item = self._queue.get_nowait()
                batch.append(item)
                count += self.size(item[0])
            await self._answer(loop, batch)

    async def _answer(self, loop: asyncio.AbstractEventLoop, batch: List[Tuple[Job, asyncio.Future]]) -> None:
        jobs = [job for job, _ in batch]
        try:
            results: List[Union[Result, Exception]] = await loop.run_in_executor(self.executor, self.process, jobs)
        except Exception as err:  # `process` itself failed: every job of the batch gets the error
            results = [err] * len(jobs)
        for (_, future), result in zip(batch, results):
            if future.done():  # the client went away
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
