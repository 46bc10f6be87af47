package deploy

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	clientscheme "k8s.io/client-go/kubernetes/scheme"
)

// chartCase is one documented way of installing the chart.
type chartCase struct {
	name   string
	files  []string // values files, relative to this module
	set    []string // --set flags
	kinds  []string // the resources it must render, as Kind/name
	stored string   // Deployment or StatefulSet
}

// releaseName and namespace match the install commands in docs/kubernetes.md.
// kubeVersion is the cluster version the chart is rendered for (a helm built without its release ldflags
// would otherwise assume 1.20, below the chart's kubeVersion).
const (
	releaseName = "weir"
	namespace   = "weir"
	kubeVersion = "1.34.0"
)

var chartCases = []chartCase{
	{
		name:   "default",
		stored: "Deployment",
		kinds: []string{"ConfigMap/weir", "Deployment/weir", "PodDisruptionBudget/weir", "Service/weir",
			"ServiceAccount/weir"},
	},
	{
		// The install command, with the seed's concurrency and load-shedding block.
		name:  "issue-install",
		files: []string{"testdata/seed-client.yaml"},
		set: []string{"image.tag=1.4.2", "weir.encryptionKeySecret.name=weir-encryption-key",
			"weir.encryptionKeySecret.key=encryption-key"},
		stored: "Deployment",
		kinds: []string{"ConfigMap/weir", "Deployment/weir", "PodDisruptionBudget/weir", "Service/weir",
			"ServiceAccount/weir"},
	},
	{
		name:   "production",
		files:  []string{chartDir + "/examples/production.yaml"},
		stored: "Deployment",
		kinds: []string{"ConfigMap/weir", "Deployment/weir", "HorizontalPodAutoscaler/weir", "Ingress/weir",
			"PodDisruptionBudget/weir", "Service/weir", "Service/weir-headless", "ServiceAccount/weir",
			"ServiceMonitor/weir"},
	},
	{
		// The ownership ring above 8 pods (auto), over the gossip membership.
		name: "cluster-ring",
		set: []string{"weir.governance.enabled=true", "weir.cluster.enabled=true", "weir.cluster.keySecret.name=weir-cluster-key",
			"weir.cluster.counters=auto", "weir.cluster.ringAutoAbove=8"},
		stored: "Deployment",
		kinds: []string{"ConfigMap/weir", "Deployment/weir", "PodDisruptionBudget/weir", "Service/weir",
			"Service/weir-headless", "ServiceAccount/weir"},
	},
	{
		// Counters in Redis: no gossip, so no headless Service and no gossip key.
		name:   "cluster-redis",
		files:  []string{chartDir + "/examples/cluster-redis.yaml"},
		stored: "Deployment",
		kinds: []string{"ConfigMap/weir", "Deployment/weir", "PodDisruptionBudget/weir", "Service/weir",
			"ServiceAccount/weir"},
	},
	{
		name:   "minimal-sqlite",
		files:  []string{chartDir + "/examples/minimal-sqlite.yaml"},
		stored: "StatefulSet",
		kinds:  []string{"ConfigMap/weir", "Service/weir", "Service/weir-headless", "ServiceAccount/weir", "StatefulSet/weir"},
	},
}

func (c chartCase) flags() []string {
	var args []string
	for _, f := range c.files {
		args = append(args, "-f", f)
	}
	for _, s := range c.set {
		args = append(args, "--set", s)
	}
	return args
}

// renderRaw runs helm template and returns its output, or the error with helm's message.
func renderRaw(t testing.TB, flags ...string) (string, error) {
	t.Helper()
	args := append([]string{"template", releaseName, chartDir, "--namespace", namespace, "--kube-version", kubeVersion}, flags...)
	out, errOut, err := runErr(".", nil, helm(t), args...)
	if err != nil {
		return "", fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return string(out), nil
}

// manifests is what the chart renders, strictly decoded, by Kind/name.
type manifests map[string]runtime.Object

func (m manifests) keys() []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// render renders the chart and decodes every document strictly into the Kubernetes API types.
func render(t testing.TB, flags ...string) manifests {
	t.Helper()
	out, err := renderRaw(t, flags...)
	if err != nil {
		t.Fatal(err)
	}
	return decodeStrict(t, out)
}

var (
	docSep = regexp.MustCompile(`(?m)^---\s*$`)
	strict = newStrictSerializer()
)

func newStrictSerializer() *json.Serializer {
	sch := runtime.NewScheme()
	if err := clientscheme.AddToScheme(sch); err != nil {
		panic(err)
	}
	if err := monitoringv1.AddToScheme(sch); err != nil {
		panic(err)
	}
	return json.NewSerializerWithOptions(json.DefaultMetaFactory, sch, sch,
		json.SerializerOptions{Yaml: true, Strict: true})
}

// decodeStrict decodes a multi-document stream; unknown or duplicate fields and unknown kinds fail the test.
func decodeStrict(t testing.TB, stream string) manifests {
	t.Helper()
	m := manifests{}
	for _, doc := range docSep.Split(stream, -1) {
		if !hasContent(doc) {
			continue
		}
		obj, gvk, err := strict.Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("manifest does not decode strictly into the Kubernetes API types: %v\n%s", err, doc)
		}
		acc, ok := obj.(interface{ GetName() string })
		if !ok {
			t.Fatalf("%s has no name", gvk)
		}
		key := gvk.Kind + "/" + acc.GetName()
		if _, dup := m[key]; dup {
			t.Fatalf("%s rendered twice", key)
		}
		m[key] = obj
	}
	return m
}

func hasContent(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		l := strings.TrimSpace(line)
		if l != "" && !strings.HasPrefix(l, "#") {
			return true
		}
	}
	return false
}

// podTemplate returns the workload's pod template and its kind.
func (m manifests) podTemplate(t testing.TB) (corev1.PodTemplateSpec, string) {
	t.Helper()
	if d, ok := m["Deployment/"+releaseName].(*appsv1.Deployment); ok {
		return d.Spec.Template, "Deployment"
	}
	if s, ok := m["StatefulSet/"+releaseName].(*appsv1.StatefulSet); ok {
		return s.Spec.Template, "StatefulSet"
	}
	t.Fatalf("no Deployment or StatefulSet named %s in %v", releaseName, m.keys())
	return corev1.PodTemplateSpec{}, ""
}

// container returns the gateway container.
func container(t testing.TB, spec corev1.PodSpec) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == "weir" {
			return c
		}
	}
	t.Fatalf("no container named weir")
	return corev1.Container{}
}

// configDoc returns the config file the ConfigMap carries.
func (m manifests) configDoc(t testing.TB) []byte {
	t.Helper()
	cm, ok := m["ConfigMap/"+releaseName].(*corev1.ConfigMap)
	if !ok {
		t.Fatalf("no ConfigMap %s", releaseName)
	}
	doc, ok := cm.Data["config.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no config.yaml", releaseName)
	}
	return []byte(doc)
}
