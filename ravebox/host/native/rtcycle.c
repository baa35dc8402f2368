/* The part of a JACK cycle that has a deadline, in C: no Python, no GIL, no allocation.
 *
 * Why (ravebox/host/nativecycle.py has the whole story): a Python process thread must
 * take the GIL before its first line, and the inference worker holds the GIL between
 * its torch calls, so the copies before jack_cycle_signal waited for a model's glue
 * code now and then, and jackd counted ravebox "still running" more often than a bare
 * client. This thread never takes the GIL: it plays the output Python staged for this
 * cycle (waited for until half the period has passed when Python has not finished it,
 * then a 5-ms fade to silence, counted), keeps this cycle's
 * audio and MIDI input in a slot of a small ring, signals the cycle done, and wakes
 * the Python cycle thread, which computes the next cycle's output from the slot.
 *
 * Memory is shared with Python: every array below is a numpy array Python allocated
 * and keeps alive as long as this thread may run. Ordering between the two threads
 * goes through `published` (C: a slot's input is complete) and `ready[slot]` (Python:
 * a slot's output is complete), stored with release and loaded with acquire
 * (sequentially consistent where the wait for a late output needs it: wait_ready).
 *
 * libjack is reached through function pointers Python hands over (JACK-Client's own
 * library), so this file needs no JACK headers and links against nothing.
 *
 * Built by ravebox/host/nativebuild.py: cc -O2 -shared -fPIC -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#define RB_ABI 1

typedef struct {
    uint32_t time;
    size_t size;
    uint8_t *buffer;
} rb_midi_event;  /* jack_midi_event_t */

typedef struct {  /* the libjack calls, in this order (nativecycle._FUNCTIONS) */
    uint32_t (*cycle_wait)(void *client);
    void (*cycle_signal)(void *client, int status);
    void *(*port_get_buffer)(void *port, uint32_t n);
    uint32_t (*frames_since_cycle_start)(void *client);
    uint32_t (*last_frame_time)(void *client);
    uint32_t (*midi_get_event_count)(void *buffer);
    int (*midi_event_get)(rb_midi_event *event, void *buffer, uint32_t index);
    void (*midi_clear_buffer)(void *buffer);
    int (*midi_event_write)(void *buffer, uint32_t time, const uint8_t *data, size_t size);
} rb_jack;

enum { INFO_FRAME, INFO_N, INFO_LATE, INFO_T0_NS, INFO_RUN_NS, INFO_CPU_NS, INFO_FIELDS };
enum { EV_PORT, EV_TIME, EV_OFFSET, EV_SIZE, EV_FIELDS };
enum {  /* shared counters and flags */
    SH_PUBLISHED,   /* cycles whose input is in their slot (C) */
    SH_UNREADY,     /* cycles that played silence: their output was not ready (C) */
    SH_MIDI_IN_LOST,  /* incoming events beyond a slot's room (C) */
    SH_MIDI_OUT_LOST, /* outgoing events JACK had no room for (C) */
    SH_STOP,        /* Python asks the thread to end (Python) */
    SH_ENDED,       /* the thread returned (C) */
    SH_TID,         /* the thread's kernel id (C, first cycle) */
    SH_OVERSIZE,    /* cycles longer than max_period: silence (C) */
    SH_FIELDS
};

typedef struct {  /* nativecycle.Layout mirrors it */
    uint32_t slots, max_period;
    uint32_t audio_ins, audio_outs, midi_ins, midi_outs;
    uint32_t midi_events, midi_bytes;      /* per slot, each direction */
    int32_t lift_priority;                 /* SCHED_FIFO to take when JACK left the thread at normal scheduling */
    uint32_t sample_rate;
    uint32_t wait_permille;                /* how far into its period a cycle waits for a late output */
    void **audio_in_ports, **audio_out_ports, **midi_in_ports, **midi_out_ports;
    float *audio_in;                       /* [slots][audio_ins][max_period] */
    float *audio_out;                      /* [slots][audio_outs][max_period] */
    int64_t *info;                         /* [slots][INFO_FIELDS] */
    uint32_t *midi_in_events;              /* [slots][midi_events][EV_FIELDS] */
    uint8_t *midi_in_bytes;                /* [slots][midi_bytes] */
    uint32_t *midi_in_count;               /* [slots] */
    uint32_t *midi_out_events;             /* [slots][midi_events][EV_FIELDS] */
    uint8_t *midi_out_bytes;               /* [slots][midi_bytes] */
    uint32_t *midi_out_count;              /* [slots] */
    uint64_t *ready;                       /* [slots]: 1 + the cycle whose output the slot holds (Python) */
    uint64_t *shared;                      /* [SH_FIELDS] */
    float *last_out;                       /* [audio_outs]: the last sample each output played (declick) */
    uint64_t *played;                      /* [slots]: 1 + the cycle the slot was played in (C) */
} rb_layout;

typedef struct {
    void *client;
    rb_jack jack;
    rb_layout L;
    sem_t wake;          /* posted after every signalled cycle: the Python cycle thread waits on it */
    sem_t readied;       /* posted by rb_publish when this thread waits for that output */
    uint64_t waiting_for;  /* 1 + the cycle whose output this thread waits for, 0: none */
    uint64_t cycle;      /* this thread's own count */
    int drained;         /* told to stop: the last computed output was played */
    int resuming;        /* the previous cycle played the fade to silence: fade the next output in */
} rb_state;

#define FADE 240         /* samples (5 ms at 48 kHz) of a fade out of or into a silent period */

int rb_abi(void) { return RB_ABI; }

rb_state *rb_new(void *client, void *const *functions, const rb_layout *layout) {
    rb_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->client = client;
    memcpy(&s->jack, functions, sizeof s->jack);
    s->L = *layout;
    if (sem_init(&s->wake, 0, 0)) {
        free(s);
        return NULL;
    }
    if (sem_init(&s->readied, 0, 0)) {
        sem_destroy(&s->wake);
        free(s);
        return NULL;
    }
    return s;
}

void rb_free(rb_state *s) {
    if (s) {
        sem_destroy(&s->wake);
        sem_destroy(&s->readied);
        free(s);
    }
}

static int64_t ns_of(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void silence_outputs(rb_state *s, uint32_t n) {
    for (uint32_t c = 0; c < s->L.audio_outs; c++)
        memset(s->jack.port_get_buffer(s->L.audio_out_ports[c], n), 0, n * sizeof(float));
}

/* A period with no output ready: each output falls from the last sample it played to silence
 * in a straight line over FADE samples (a step of at most 1/FADE, not a click). */
static void fade_to_silence(rb_state *s, uint32_t n) {
    for (uint32_t c = 0; c < s->L.audio_outs; c++) {
        float *out = s->jack.port_get_buffer(s->L.audio_out_ports[c], n);
        float from = s->L.last_out[c];
        for (uint32_t i = 0; i < n; i++)
            out[i] = i < FADE ? from * (float)(FADE - 1 - i) / (float)FADE : 0.0f;
        s->L.last_out[c] = 0.0f;
    }
    s->resuming = 1;
}

/* Every MIDI output's buffer is cleared each cycle (JACK asks it before any write). */
static void clear_midi_outputs(rb_state *s, uint32_t n, void **buffers) {
    for (uint32_t p = 0; p < s->L.midi_outs; p++) {
        buffers[p] = s->jack.port_get_buffer(s->L.midi_out_ports[p], n);
        s->jack.midi_clear_buffer(buffers[p]);
    }
}

#define MAX_MIDI_OUTS 64

static void play_slot(rb_state *s, uint32_t slot, uint32_t n, void **midi_buffers) {
    const rb_layout *L = &s->L;
    const float *out = L->audio_out + (size_t)slot * L->audio_outs * L->max_period;
    for (uint32_t c = 0; c < L->audio_outs; c++) {
        float *port = s->jack.port_get_buffer(L->audio_out_ports[c], n);
        memcpy(port, out + (size_t)c * L->max_period, n * sizeof(float));
        if (s->resuming)   /* out of a silent period: fade in over FADE samples */
            for (uint32_t i = 0; i < n && i < FADE; i++)
                port[i] *= (float)(i + 1) / (float)FADE;
        L->last_out[c] = n ? port[n - 1] : 0.0f;
    }
    s->resuming = 0;
    __atomic_store_n(&L->played[slot], s->cycle + 1, __ATOMIC_RELEASE);
    const uint32_t *ev = L->midi_out_events + (size_t)slot * L->midi_events * EV_FIELDS;
    const uint8_t *bytes = L->midi_out_bytes + (size_t)slot * L->midi_bytes;
    uint32_t count = L->midi_out_count[slot];
    for (uint32_t i = 0; i < count && i < L->midi_events; i++, ev += EV_FIELDS) {
        if (ev[EV_PORT] >= L->midi_outs || ev[EV_TIME] >= n || ev[EV_OFFSET] + ev[EV_SIZE] > L->midi_bytes
                || s->jack.midi_event_write(midi_buffers[ev[EV_PORT]], ev[EV_TIME], bytes + ev[EV_OFFSET], ev[EV_SIZE]))
            L->shared[SH_MIDI_OUT_LOST]++;
    }
}

static void keep_input(rb_state *s, uint32_t slot, uint32_t n) {
    const rb_layout *L = &s->L;
    float *in = L->audio_in + (size_t)slot * L->audio_ins * L->max_period;
    for (uint32_t c = 0; c < L->audio_ins; c++)
        memcpy(in + (size_t)c * L->max_period, s->jack.port_get_buffer(L->audio_in_ports[c], n), n * sizeof(float));
    uint32_t *ev = L->midi_in_events + (size_t)slot * L->midi_events * EV_FIELDS;
    uint8_t *bytes = L->midi_in_bytes + (size_t)slot * L->midi_bytes;
    uint32_t kept = 0, used = 0;
    rb_midi_event event;
    for (uint32_t p = 0; p < L->midi_ins; p++) {
        void *buffer = s->jack.port_get_buffer(L->midi_in_ports[p], n);
        uint32_t count = s->jack.midi_get_event_count(buffer);
        for (uint32_t i = 0; i < count; i++) {
            if (s->jack.midi_event_get(&event, buffer, i))
                break;
            if (kept >= L->midi_events || event.size > L->midi_bytes - used) {
                L->shared[SH_MIDI_IN_LOST]++;
                continue;
            }
            uint32_t *e = ev + (size_t)kept * EV_FIELDS;
            e[EV_PORT] = p;
            e[EV_TIME] = event.time;
            e[EV_OFFSET] = used;
            e[EV_SIZE] = (uint32_t)event.size;
            memcpy(bytes + used, event.buffer, event.size);
            used += (uint32_t)event.size;
            kept++;
        }
    }
    L->midi_in_count[slot] = kept;
}

/* The output for cycle k is late: wait for it until wait_permille of the period has passed since the
 * cycle's start (the cycle thread usually finishes a late one within a millisecond or two), then give
 * up (the caller fades to silence). Waits on a semaphore rb_publish posts only while this thread waits
 * (waiting_for: both sides store, then read the other's, sequentially consistent, so one sees the other). */
static int wait_ready(rb_state *s, uint32_t slot, uint64_t k, int64_t t0, uint32_t late, uint32_t n) {
    const rb_layout *L = &s->L;
    if (__atomic_load_n(&L->ready[slot], __ATOMIC_SEQ_CST) == k + 1)
        return 1;
    if (k == 0)
        return 0;   /* nothing was computed before the first cycle */
    int64_t rate = L->sample_rate ? L->sample_rate : 48000;
    int64_t budget = ((int64_t)n * L->wait_permille / 1000 - (int64_t)late) * 1000000000LL / rate;
    if (budget <= 0)
        return 0;
    struct timespec until;
    int64_t end = t0 + budget;
    until.tv_sec = end / 1000000000LL;
    until.tv_nsec = end % 1000000000LL;
    __atomic_store_n(&s->waiting_for, k + 1, __ATOMIC_SEQ_CST);
    int ready;
    while (!(ready = __atomic_load_n(&L->ready[slot], __ATOMIC_SEQ_CST) == k + 1)) {
        if (sem_clockwait(&s->readied, CLOCK_MONOTONIC, &until) && errno == ETIMEDOUT) {
            ready = __atomic_load_n(&L->ready[slot], __ATOMIC_SEQ_CST) == k + 1;
            break;
        }
    }
    __atomic_store_n(&s->waiting_for, 0, __ATOMIC_SEQ_CST);
    return ready;
}

/* First cycle: a JACK that is not realtime leaves this thread at normal scheduling, below the
 * daemon's own SCHED_FIFO threads; lift it above them (a realtime JACK's priority is left alone). */
static void first_cycle(rb_state *s) {
    __atomic_store_n(&s->L.shared[SH_TID], (uint64_t)syscall(SYS_gettid), __ATOMIC_RELAXED);
    if (s->L.lift_priority > 0 && sched_getscheduler(0) == SCHED_OTHER) {
        struct sched_param p = {.sched_priority = s->L.lift_priority};
        sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &p);
    }
}

/* The JACK process thread (jack_set_process_thread): one pass per cycle, until told to stop. */
void *rb_thread(void *arg) {
    rb_state *s = arg;
    rb_layout *L = &s->L;
    void *midi_buffers[MAX_MIDI_OUTS];
    for (;;) {
        uint32_t n = s->jack.cycle_wait(s->client);
        int64_t t0 = ns_of(CLOCK_MONOTONIC), c0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
        uint32_t late = s->jack.frames_since_cycle_start(s->client);
        uint32_t frame = s->jack.last_frame_time(s->client);
        uint64_t k = s->cycle;
        uint32_t slot = (uint32_t)(k % L->slots);
        if (k == 0)
            first_cycle(s);
        clear_midi_outputs(s, n, midi_buffers);
        int stopping = __atomic_load_n(&L->shared[SH_STOP], __ATOMIC_ACQUIRE) != 0;
        if (stopping && s->drained) {   /* the last cycle: silence, then end */
            silence_outputs(s, n);
            s->jack.cycle_signal(s->client, 0);
            __atomic_store_n(&L->shared[SH_ENDED], 1, __ATOMIC_RELEASE);
            sem_post(&s->wake);
            return NULL;
        }
        if (n > L->max_period) {
            silence_outputs(s, n);
            L->shared[SH_OVERSIZE]++;
            s->jack.cycle_signal(s->client, 0);
            continue;   /* nothing kept: the session follows a new period with a new client */
        }
        if (wait_ready(s, slot, k, t0, late, n)) {
            play_slot(s, slot, n, midi_buffers);
        } else {
            fade_to_silence(s, n);
            if (k > 0)
                L->shared[SH_UNREADY]++;
        }
        s->drained = stopping;
        keep_input(s, slot, n);
        int64_t *info = L->info + (size_t)slot * INFO_FIELDS;
        info[INFO_FRAME] = frame;
        info[INFO_N] = n;
        info[INFO_LATE] = late;
        info[INFO_T0_NS] = t0;
        info[INFO_RUN_NS] = ns_of(CLOCK_MONOTONIC) - t0;
        info[INFO_CPU_NS] = ns_of(CLOCK_THREAD_CPUTIME_ID) - c0;
        s->cycle = k + 1;
        __atomic_store_n(&L->shared[SH_PUBLISHED], k + 1, __ATOMIC_RELEASE);
        s->jack.cycle_signal(s->client, 0);
        sem_post(&s->wake);
    }
}

/* The Python cycle thread (through ctypes, the GIL let go): wait until more than `seen` cycles
 * are published; returns their count, 0 on timeout, -1 once the JACK thread has ended. */
int64_t rb_wait(rb_state *s, uint64_t seen, int timeout_ms) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    for (;;) {
        uint64_t published = __atomic_load_n(&s->L.shared[SH_PUBLISHED], __ATOMIC_ACQUIRE);
        if (published > seen)
            return (int64_t)published;
        if (__atomic_load_n(&s->L.shared[SH_ENDED], __ATOMIC_ACQUIRE))
            return -1;
        if (sem_timedwait(&s->wake, &until) && errno == ETIMEDOUT)
            return 0;
    }
}

/* The Python cycle thread: the slot's output for `cycle` is complete. */
void rb_publish(rb_state *s, uint32_t slot, uint64_t cycle) {
    __atomic_store_n(&s->L.ready[slot], cycle + 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&s->waiting_for, __ATOMIC_SEQ_CST) == cycle + 1)
        sem_post(&s->readied);
}

/* The main thread, ending: ask the JACK thread to play what was computed, then silence and end. */
void rb_stop(rb_state *s) {
    __atomic_store_n(&s->L.shared[SH_STOP], 1, __ATOMIC_RELEASE);
}
