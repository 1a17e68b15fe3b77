package cluster

import (
	"reflect"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func TestHPAMetrics(t *testing.T) {
	q := func(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }
	cpu := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: "cpu",
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}}
	cpuNow := autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: "cpu",
		Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](91)}}}
	rps := autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "rps"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("100")}}}
	rpsNow := autoscalingv2.MetricStatus{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
		Metric: autoscalingv2.MetricIdentifier{Name: "rps"}, Current: autoscalingv2.MetricValueStatus{AverageValue: q("250m")}}}
	queue := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "queue"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("30")}}}
	queueNow := autoscalingv2.MetricStatus{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
		Metric: autoscalingv2.MetricIdentifier{Name: "queue"}, Current: autoscalingv2.MetricValueStatus{Value: q("45")}}}
	mem := autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: "memory", Container: "app",
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)}}}
	// Measured as an average value, not as the utilization the target names.
	memOther := autoscalingv2.MetricStatus{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{Name: "memory", Container: "app",
		Current: autoscalingv2.MetricValueStatus{AverageValue: q("1Gi")}}}
	for _, tc := range []struct {
		name    string
		spec    []autoscalingv2.MetricSpec
		current []autoscalingv2.MetricStatus
		want    []HPAMetric
	}{
		{"none", nil, nil, nil},
		{"not measured yet", []autoscalingv2.MetricSpec{cpu}, nil, nil},
		{"cpu utilization", []autoscalingv2.MetricSpec{cpu}, []autoscalingv2.MetricStatus{cpuNow}, []HPAMetric{{"cpu utilization %", 91, 70}}},
		{"every kind, spec order, status in another order", []autoscalingv2.MetricSpec{queue, rps, cpu},
			[]autoscalingv2.MetricStatus{cpuNow, rpsNow, queueNow},
			[]HPAMetric{{"external queue value", 45, 30}, {"pods rps average", 0.25, 100}, {"cpu utilization %", 91, 70}}},
		{"a status of another comparison is not paired", []autoscalingv2.MetricSpec{mem}, []autoscalingv2.MetricStatus{memOther}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{Metrics: tc.spec},
				Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentMetrics: tc.current}}
			if got := hpaMetrics(h); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("hpaMetrics = %+v, want %+v", got, tc.want)
			}
			// Stripping keeps every pair.
			spec, current := stripHPAMetrics(tc.spec, tc.current)
			h2 := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{Metrics: spec},
				Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentMetrics: current}}
			if got := hpaMetrics(h2); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("hpaMetrics after stripHPAMetrics = %+v, want %+v", got, tc.want)
			}
		})
	}
}
