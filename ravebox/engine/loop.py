"""The beat-locked latent loop and dissolve, one per graph (inference worker thread).

How it keeps time: a loop of ``L`` beats holds ``N = round(L / beats per
latent frame)`` slots, fixed when recording starts. Each latent frame's slot
is its phase in the loop, ``floor((beat mod L) / L * N)``, taken from the
clock at that frame -- so playback follows the clock (and its tempo changes)
instead of counting frames, and a steady clock replays the same slot
sequence every cycle, which makes the decoded loop repeat sample-exactly.

States: idle (``loop.enabled`` off) -> armed (waits for slot 0, the next
aligned start) -> recording (one full cycle of the incoming stream) ->
playing (``(1 - dissolve) * loop + dissolve * live``). A ``loop.retrigger``,
a transport Start (a new clock ``epoch``) or a change of ``loop.beats``
re-arms. While the transport is stopped the beat holds, so the slot then
advances one per latent frame instead.
"""

from __future__ import annotations

import math

import numpy as np

IDLE, ARMED, RECORDING, PLAYING = "idle", "armed", "recording", "playing"
_EPS = 1e-6


class LatentLoop:
    def __init__(self, dims: int, max_slots: int = 8192) -> None:
        self.buffer = np.zeros((max_slots, dims), dtype=np.float32)
        self.state = IDLE
        self.beats = 0.0
        self.slots = 0
        self.slot = -1          # slot of the last processed frame
        self.generation = 0     # counts recordings (decoder seeds while playing derive from it)
        self._epoch: int | None = None
        self._trigger = 0

    def rearm_if(self, epoch: int, trigger: int) -> None:
        """Called once per block with the clock epoch and the retrigger count."""
        if self._epoch is None:
            self._epoch, self._trigger = epoch, trigger
        if epoch != self._epoch or trigger != self._trigger:
            self._epoch, self._trigger = epoch, trigger
            if self.state != IDLE:
                self.state = ARMED

    def replays_exactly(self, epoch: int, trigger: int, enabled: np.ndarray, beats_len: np.ndarray,
                        dissolve: np.ndarray) -> bool:
        """Whether the next ``process`` with these values will overwrite every frame with the loop.

        Exactly the conditions under which each ``_frame`` takes the playing branch with
        dissolve 0 and no re-arm; the graph then skips its encoder, whose output would be
        overwritten (so this must never say True when ``process`` would not return True).
        """
        return (self.state == PLAYING and epoch == self._epoch and trigger == self._trigger
                and bool(np.all(enabled != 0)) and bool(np.all(beats_len == self.beats))
                and bool(np.all(dissolve <= 0.0)))

    def process(self, z: np.ndarray, enabled: np.ndarray, beats_len: np.ndarray, dissolve: np.ndarray,
                beats: np.ndarray, frame_beats: float, running: bool) -> bool:
        """Apply the loop to ``z`` (dims, k) in place; True if every frame played the loop untouched."""
        exact = True
        for j in range(z.shape[1]):
            played = self._frame(z[:, j], bool(enabled[j]), float(beats_len[j]), float(dissolve[j]),
                                 float(beats[j]), frame_beats, running)
            exact = exact and played
        return exact

    def _frame(self, zj: np.ndarray, enabled: bool, length: float, dissolve: float, beat: float,
               frame_beats: float, running: bool) -> bool:
        if not enabled:
            self.state = IDLE
            return False
        if self.state == IDLE or (self.state != ARMED and length != self.beats):
            self._arm(length, frame_beats)
        slot = self._slot(beat, running)
        if self.state == ARMED:
            if slot != 0 and running:
                return False
            self.state, slot = RECORDING, 0
        elif self.state == RECORDING and slot < self.slot:
            self.state = PLAYING
        if self.state == RECORDING:
            first = self.slot + 1 if slot > self.slot else slot  # fill slots a tempo jump skipped
            self.buffer[first:slot + 1] = zj
            self.slot = slot
            return False
        self.slot = slot
        return self._play(zj, slot, dissolve)

    def peek(self, beats: np.ndarray, running: bool) -> np.ndarray:
        """The recorded latents (k, dims) the next ``process`` will play at these beats (playing state)."""
        if running:
            phase = np.mod(beats, self.beats) / self.beats
            slots = (np.floor(phase * self.slots + _EPS).astype(np.int64)) % self.slots
        else:
            slots = (self.slot + 1 + np.arange(len(beats))) % self.slots
        return self.buffer[slots]

    def _arm(self, length: float, frame_beats: float) -> None:
        self.state = ARMED
        self.generation += 1
        self.beats = length
        self.slots = int(min(len(self.buffer), max(1, round(length / max(frame_beats, 1e-12)))))
        self.slot = -1

    def _slot(self, beat: float, running: bool) -> int:
        if not running:
            return (self.slot + 1) % self.slots
        phase = (beat % self.beats) / self.beats
        return int(math.floor(phase * self.slots + _EPS)) % self.slots

    def _play(self, zj: np.ndarray, slot: int, dissolve: float) -> bool:
        if dissolve <= 0.0:
            zj[:] = self.buffer[slot]
            return True
        if dissolve < 1.0:
            zj *= dissolve
            zj += (1.0 - dissolve) * self.buffer[slot]
        return False
