//! The JSON shape of the `core/v1` kinds other than Pods and what they hold: ConfigMaps,
//! Secrets, Services, ServiceAccounts, Namespaces, ResourceQuotas, Events, and the object
//! references they share.

use k8s_pb::api::core::v1::*;

use crate::protobuf::json::messages;

messages! {
    ClientIpConfig {
        timeout_seconds: keep "timeoutSeconds",
    }
    ConfigMap {
        metadata: keep "metadata",
        immutable: keep "immutable",
        data: keep "data",
        binary_data: keep "binaryData",
    }
    Event {
        metadata: keep "metadata",
        involved_object: keep "involvedObject",
        reason: nonzero "reason",
        message: nonzero "message",
        source: keep "source",
        first_timestamp: keep "firstTimestamp",
        last_timestamp: keep "lastTimestamp",
        count: nonzero "count",
        r#type: nonzero "type",
        event_time: keep "eventTime",
        series: keep "series",
        action: nonzero "action",
        related: keep "related",
        reporting_component: keep "reportingComponent",
        reporting_instance: keep "reportingInstance",
    }
    EventSeries {
        count: nonzero "count",
        last_observed_time: keep "lastObservedTime",
    }
    EventSource {
        component: nonzero "component",
        host: nonzero "host",
    }
    LoadBalancerIngress {
        ip: nonzero "ip",
        hostname: nonzero "hostname",
        ip_mode: keep "ipMode",
        ports: keep "ports",
    }
    LoadBalancerStatus {
        ingress: keep "ingress",
    }
    LocalObjectReference {
        name: nonzero "name",
    }
    Namespace {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    NamespaceCondition {
        r#type: keep "type",
        status: keep "status",
        last_transition_time: keep "lastTransitionTime",
        reason: nonzero "reason",
        message: nonzero "message",
    }
    NamespaceSpec {
        finalizers: keep "finalizers",
    }
    NamespaceStatus {
        phase: nonzero "phase",
        conditions: keep "conditions",
    }
    ObjectReference {
        kind: nonzero "kind",
        namespace: nonzero "namespace",
        name: nonzero "name",
        uid: nonzero "uid",
        api_version: nonzero "apiVersion",
        resource_version: nonzero "resourceVersion",
        field_path: nonzero "fieldPath",
    }
    PortStatus {
        port: keep "port",
        protocol: keep "protocol",
        error: keep "error",
    }
    ResourceQuota {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    ResourceQuotaSpec {
        hard: keep "hard",
        scopes: keep "scopes",
        scope_selector: keep "scopeSelector",
    }
    ResourceQuotaStatus {
        hard: keep "hard",
        used: keep "used",
    }
    ScopeSelector {
        match_expressions: keep "matchExpressions",
    }
    ScopedResourceSelectorRequirement {
        scope_name: keep "scopeName",
        operator: keep "operator",
        values: keep "values",
    }
    Secret {
        metadata: keep "metadata",
        immutable: keep "immutable",
        data: keep "data",
        string_data: keep "stringData",
        r#type: nonzero "type",
    }
    Service {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    ServiceAccount {
        metadata: keep "metadata",
        secrets: keep "secrets",
        image_pull_secrets: keep "imagePullSecrets",
        automount_service_account_token: keep "automountServiceAccountToken",
    }
    ServicePort {
        name: nonzero "name",
        protocol: nonzero "protocol",
        app_protocol: keep "appProtocol",
        port: keep "port",
        target_port: keep "targetPort",
        node_port: nonzero "nodePort",
    }
    ServiceSpec {
        ports: keep "ports",
        selector: keep "selector",
        cluster_ip: nonzero "clusterIP",
        cluster_ips: keep "clusterIPs",
        r#type: nonzero "type",
        external_ips: keep "externalIPs",
        session_affinity: nonzero "sessionAffinity",
        load_balancer_ip: nonzero "loadBalancerIP",
        load_balancer_source_ranges: keep "loadBalancerSourceRanges",
        external_name: nonzero "externalName",
        external_traffic_policy: nonzero "externalTrafficPolicy",
        health_check_node_port: nonzero "healthCheckNodePort",
        publish_not_ready_addresses: nonzero "publishNotReadyAddresses",
        session_affinity_config: keep "sessionAffinityConfig",
        ip_families: keep "ipFamilies",
        ip_family_policy: keep "ipFamilyPolicy",
        allocate_load_balancer_node_ports: keep "allocateLoadBalancerNodePorts",
        load_balancer_class: keep "loadBalancerClass",
        internal_traffic_policy: keep "internalTrafficPolicy",
        traffic_distribution: keep "trafficDistribution",
    }
    ServiceStatus {
        load_balancer: keep "loadBalancer",
        conditions: keep "conditions",
    }
    SessionAffinityConfig {
        client_ip: keep "clientIP",
    }
}
