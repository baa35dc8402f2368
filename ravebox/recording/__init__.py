"""Recording on the box: the output (and optionally the dry input) to FLAC, never blocking the audio.

- ``settings``: the validated ``[record]`` table (:class:`RecordSettings`);
- ``tap``: :class:`RecordTap`, the preallocated ring the JACK process callback copies into;
- ``writer``: :class:`Recorder`, the non-realtime thread that drains the ring into FLAC files.
"""
