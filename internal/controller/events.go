package controller

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
)

// eventWriter posts one events.k8s.io/v1 Event per call. It does not go
// through client-go's event broadcaster: that folds every event with the
// same regarding object, reason and action into the first one's series for
// six minutes, so "latched 10 → 30 in c90e6b8" would only raise a count on
// "latched 3 → 10 in fa388db" and the later commit would never be named.
//
// Events are queued and written by one goroutine, so a pass never waits on
// the API server for them; when the queue is full an event is dropped (and
// logged), never the pass.
type eventWriter struct {
	client             eventsv1client.EventsV1Interface
	controller, holder string
	log                *slog.Logger

	queue chan *eventsv1.Event
	done  chan struct{}
	once  sync.Once
}

// eventQueueSize bounds the events waiting to be written.
const eventQueueSize = 512

// maxNoteBytes is the events.k8s.io/v1 limit on Note.
const maxNoteBytes = 1024

func newEventWriter(client eventsv1client.EventsV1Interface, controller string, log *slog.Logger) *eventWriter {
	host, _ := os.Hostname()
	holder := controller + "-" + host
	if len(holder) > 128 {
		holder = holder[:128]
	}
	return &eventWriter{client: client, controller: controller, holder: holder, log: log,
		queue: make(chan *eventsv1.Event, eventQueueSize), done: make(chan struct{})}
}

// run writes queued events until close; it returns when the queue is empty.
func (e *eventWriter) run() {
	defer close(e.done)
	for ev := range e.queue {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := e.client.Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{})
		cancel()
		if err != nil {
			e.log.Warn("writing an event", "namespace", ev.Namespace, "regarding", ev.Regarding.Kind+"/"+ev.Regarding.Name, "reason", ev.Reason, "error", err)
		}
	}
}

// close stops taking events and waits up to wait for the queued ones.
func (e *eventWriter) close(wait time.Duration) {
	e.once.Do(func() { close(e.queue) })
	select {
	case <-e.done:
	case <-time.After(wait):
		e.log.Warn("events not written before shutdown", "left", len(e.queue))
	}
}

// post queues an Event about regarding; eventType is corev1.EventTypeNormal
// or EventTypeWarning.
func (e *eventWriter) post(regarding corev1.ObjectReference, eventType, reason, action, note string) {
	if len(note) > maxNoteBytes {
		note = note[:maxNoteBytes-len("…")] + "…"
	}
	now := time.Now()
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			// Unique per event, in the style client-go names them.
			Name:      fmt.Sprintf("%s.%x", regarding.Name, now.UnixNano()),
			Namespace: regarding.Namespace,
		},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: e.controller,
		ReportingInstance:   e.holder,
		Action:              action,
		Reason:              reason,
		Regarding:           regarding,
		Note:                note,
		Type:                eventType,
	}
	defer func() {
		// post after close (a pass finishing during shutdown): drop.
		if recover() != nil {
			e.log.Warn("event after shutdown dropped", "reason", reason, "note", note)
		}
	}()
	select {
	case e.queue <- ev:
	default:
		e.log.Warn("event queue full; event dropped", "reason", reason, "note", note)
	}
}
