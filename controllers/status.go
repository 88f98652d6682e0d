package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stratav1alpha1 "github.com/strata-dev/strata/api/v1alpha1"
)

// outcome is how one pass of a reconciler ended, and the only thing that
// decides the kstatus conditions (Ready, Reconciling, Stalled), so they can
// never disagree with each other. Every reconciler builds one and hands it
// to setConditions.
type outcome struct {
	// ready: the object is what its spec asks for.
	ready bool
	// stalled: retrying cannot fix it; the spec or something the user owns
	// must change (kstatus Failed, so waiters stop without a timeout).
	stalled bool
	// reason is a CamelCase word, message a sentence for humans.
	reason, message string
	// requeue is when to look again though nothing we watch changes.
	requeue time.Duration
}

func done(message string) outcome {
	return outcome{ready: true, reason: stratav1alpha1.ReasonSucceeded, message: message}
}

func waiting(reason string, after time.Duration, format string, args ...any) outcome {
	return outcome{reason: reason, message: fmt.Sprintf(format, args...), requeue: after}
}

func stalled(reason, format string, args ...any) outcome {
	return outcome{stalled: true, reason: reason, message: fmt.Sprintf(format, args...)}
}

// setConditions writes Ready and the abnormal-true Reconciling/Stalled,
// removing the latter two when they do not hold (kstatus and Flux drop
// them rather than leave them False).
func setConditions(conds *[]metav1.Condition, generation int64, o outcome) {
	set := func(t string, s metav1.ConditionStatus) {
		meta.SetStatusCondition(conds, metav1.Condition{Type: t, Status: s, Reason: o.reason,
			Message: o.message, ObservedGeneration: generation})
	}
	switch {
	case o.ready:
		set(stratav1alpha1.ConditionReady, metav1.ConditionTrue)
		meta.RemoveStatusCondition(conds, stratav1alpha1.ConditionReconciling)
		meta.RemoveStatusCondition(conds, stratav1alpha1.ConditionStalled)
	case o.stalled:
		set(stratav1alpha1.ConditionReady, metav1.ConditionFalse)
		set(stratav1alpha1.ConditionStalled, metav1.ConditionTrue)
		meta.RemoveStatusCondition(conds, stratav1alpha1.ConditionReconciling)
	default:
		set(stratav1alpha1.ConditionReady, metav1.ConditionFalse)
		set(stratav1alpha1.ConditionReconciling, metav1.ConditionTrue)
		meta.RemoveStatusCondition(conds, stratav1alpha1.ConditionStalled)
	}
}

// result turns an outcome into the controller's answer: the controller,
// not the workqueue, picks when to come back, so an expected wait is not
// logged as an error.
func (o outcome) result() ctrl.Result {
	return ctrl.Result{RequeueAfter: o.requeue}
}

// kstatus is the part of a kind's status every pass ends with.
type kstatus struct {
	conditions *[]metav1.Condition
	// observedGeneration, when set, moves to the object's generation once
	// the outcome is final (ready or stalled); nil when the reconciler
	// moves it itself.
	observedGeneration *int64
	// all is the whole status, compared to decide whether to write it.
	all any
}

// conclude ends a pass the same way for every kind: an error (a failed
// API call) becomes a Reconciling outcome and is returned so the
// workqueue backs off; the conditions follow the outcome; the status is
// written only when it changed; an event is recorded when Ready flips or
// notable says so.
func conclude[T client.Object](ctx context.Context, c client.Client, rec events.EventRecorder, before, obj T,
	status func(T) kstatus, o outcome, err error, notable bool) (outcome, error) {
	if err != nil {
		o = waiting(stratav1alpha1.ReasonProgressing, 0, "%v", err)
	}
	now, was := status(obj), status(before)
	if now.observedGeneration != nil && (o.ready || o.stalled) {
		*now.observedGeneration = obj.GetGeneration()
	}
	setConditions(now.conditions, obj.GetGeneration(), o)
	// Read the status again: all is a copy taken before the changes.
	if !equality.Semantic.DeepEqual(was.all, status(obj).all) {
		if perr := c.Status().Patch(ctx, obj, client.MergeFrom(before)); perr != nil && err == nil {
			err = perr
		}
	}
	if rec != nil && (notable || readyOf(*was.conditions) != readyOf(*now.conditions)) {
		kind := corev1.EventTypeNormal
		if !o.ready && o.reason != stratav1alpha1.ReasonProgressing {
			kind = corev1.EventTypeWarning
		}
		rec.Eventf(obj, nil, kind, o.reason, "Reconcile", "%s", o.message)
	}
	return o, err
}
