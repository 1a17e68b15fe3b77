package cluster

import (
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// HPAMetric is one of an HPA's metrics: its target (spec.metrics) and the
// value the HPA last measured (status.currentMetrics), in the same unit.
type HPAMetric struct {
	// Name says which metric and how it is compared: "cpu utilization",
	// "pods requests_per_second average", "external queue_depth value".
	Name            string
	Current, Target float64
}

// metricKey pairs a spec metric with its status: the type, the metric or
// resource name and the container (ContainerResource).
type metricKey struct {
	typ             autoscalingv2.MetricSourceType
	name, container string
}

// hpaMetrics pairs each spec.metrics target with its status.currentMetrics
// value of the same kind (a target the HPA has not measured yet is left
// out), in spec order.
func hpaMetrics(h *autoscalingv2.HorizontalPodAutoscaler) []HPAMetric {
	current := map[metricKey]autoscalingv2.MetricValueStatus{}
	for _, s := range h.Status.CurrentMetrics {
		if k, v, ok := statusValue(s); ok {
			current[k] = v
		}
	}
	var out []HPAMetric
	for _, s := range h.Spec.Metrics {
		k, target, ok := specTarget(s)
		if !ok {
			continue
		}
		cur, ok := current[k]
		if !ok {
			continue
		}
		name := k.name
		if k.container != "" {
			name += " (container " + k.container + ")"
		}
		if k.typ != autoscalingv2.ResourceMetricSourceType && k.typ != autoscalingv2.ContainerResourceMetricSourceType {
			name = strings.ToLower(string(k.typ)) + " " + name
		}
		switch {
		case target.AverageUtilization != nil:
			if cur.AverageUtilization == nil {
				continue
			}
			out = append(out, HPAMetric{Name: name + " utilization %", Current: float64(*cur.AverageUtilization), Target: float64(*target.AverageUtilization)})
		case target.AverageValue != nil:
			if cur.AverageValue == nil {
				continue
			}
			out = append(out, HPAMetric{Name: name + " average", Current: cur.AverageValue.AsApproximateFloat64(), Target: target.AverageValue.AsApproximateFloat64()})
		case target.Value != nil:
			if cur.Value == nil {
				continue
			}
			out = append(out, HPAMetric{Name: name + " value", Current: cur.Value.AsApproximateFloat64(), Target: target.Value.AsApproximateFloat64()})
		}
	}
	return out
}

func specTarget(s autoscalingv2.MetricSpec) (metricKey, autoscalingv2.MetricTarget, bool) {
	switch {
	case s.Resource != nil:
		return metricKey{typ: s.Type, name: string(s.Resource.Name)}, s.Resource.Target, true
	case s.ContainerResource != nil:
		return metricKey{typ: s.Type, name: string(s.ContainerResource.Name), container: s.ContainerResource.Container}, s.ContainerResource.Target, true
	case s.Pods != nil:
		return metricKey{typ: s.Type, name: s.Pods.Metric.Name}, s.Pods.Target, true
	case s.Object != nil:
		return metricKey{typ: s.Type, name: s.Object.Metric.Name}, s.Object.Target, true
	case s.External != nil:
		return metricKey{typ: s.Type, name: s.External.Metric.Name}, s.External.Target, true
	}
	return metricKey{}, autoscalingv2.MetricTarget{}, false
}

func statusValue(s autoscalingv2.MetricStatus) (metricKey, autoscalingv2.MetricValueStatus, bool) {
	switch {
	case s.Resource != nil:
		return metricKey{typ: s.Type, name: string(s.Resource.Name)}, s.Resource.Current, true
	case s.ContainerResource != nil:
		return metricKey{typ: s.Type, name: string(s.ContainerResource.Name), container: s.ContainerResource.Container}, s.ContainerResource.Current, true
	case s.Pods != nil:
		return metricKey{typ: s.Type, name: s.Pods.Metric.Name}, s.Pods.Current, true
	case s.Object != nil:
		return metricKey{typ: s.Type, name: s.Object.Metric.Name}, s.Object.Current, true
	case s.External != nil:
		return metricKey{typ: s.Type, name: s.External.Metric.Name}, s.External.Current, true
	}
	return metricKey{}, autoscalingv2.MetricValueStatus{}, false
}

// stripHPAMetrics keeps of spec.metrics and status.currentMetrics what
// hpaMetrics reads — type, metric name, container, target and current
// values — without selectors or described objects, copied out of the
// decoded object (see stripMeta).
func stripHPAMetrics(spec []autoscalingv2.MetricSpec, status []autoscalingv2.MetricStatus) ([]autoscalingv2.MetricSpec, []autoscalingv2.MetricStatus) {
	var outSpec []autoscalingv2.MetricSpec
	for _, s := range spec {
		k, target, ok := specTarget(s)
		if !ok {
			continue
		}
		m := autoscalingv2.MetricSpec{Type: k.typ}
		t := autoscalingv2.MetricTarget{Type: target.Type, Value: cloneQuantity(target.Value), AverageValue: cloneQuantity(target.AverageValue), AverageUtilization: cloneInt32(target.AverageUtilization)}
		id := autoscalingv2.MetricIdentifier{Name: strings.Clone(k.name)}
		switch {
		case s.Resource != nil:
			m.Resource = &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceName(id.Name), Target: t}
		case s.ContainerResource != nil:
			m.ContainerResource = &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceName(id.Name), Container: strings.Clone(k.container), Target: t}
		case s.Pods != nil:
			m.Pods = &autoscalingv2.PodsMetricSource{Metric: id, Target: t}
		case s.Object != nil:
			m.Object = &autoscalingv2.ObjectMetricSource{Metric: id, Target: t}
		case s.External != nil:
			m.External = &autoscalingv2.ExternalMetricSource{Metric: id, Target: t}
		}
		outSpec = append(outSpec, m)
	}
	var outStatus []autoscalingv2.MetricStatus
	for _, s := range status {
		k, cur, ok := statusValue(s)
		if !ok {
			continue
		}
		m := autoscalingv2.MetricStatus{Type: k.typ}
		c := autoscalingv2.MetricValueStatus{Value: cloneQuantity(cur.Value), AverageValue: cloneQuantity(cur.AverageValue), AverageUtilization: cloneInt32(cur.AverageUtilization)}
		id := autoscalingv2.MetricIdentifier{Name: strings.Clone(k.name)}
		switch {
		case s.Resource != nil:
			m.Resource = &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceName(id.Name), Current: c}
		case s.ContainerResource != nil:
			m.ContainerResource = &autoscalingv2.ContainerResourceMetricStatus{Name: corev1.ResourceName(id.Name), Container: strings.Clone(k.container), Current: c}
		case s.Pods != nil:
			m.Pods = &autoscalingv2.PodsMetricStatus{Metric: id, Current: c}
		case s.Object != nil:
			m.Object = &autoscalingv2.ObjectMetricStatus{Metric: id, Current: c}
		case s.External != nil:
			m.External = &autoscalingv2.ExternalMetricStatus{Metric: id, Current: c}
		}
		outStatus = append(outStatus, m)
	}
	return outSpec, outStatus
}

func cloneQuantity(q *resource.Quantity) *resource.Quantity {
	if q == nil {
		return nil
	}
	c := q.DeepCopy()
	return &c
}

func cloneInt32(p *int32) *int32 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
