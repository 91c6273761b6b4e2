//! The JSON shape of the `networking/v1` messages.

use k8s_pb::api::networking::v1::*;

use crate::protobuf::json::messages;

messages! {
    HttpIngressPath {
        path: nonzero "path",
        path_type: keep "pathType",
        backend: keep "backend",
    }
    HttpIngressRuleValue {
        paths: nullable "paths",
    }
    Ingress {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    IngressBackend {
        service: keep "service",
        resource: keep "resource",
    }
    IngressLoadBalancerIngress {
        ip: nonzero "ip",
        hostname: nonzero "hostname",
        ports: keep "ports",
    }
    IngressLoadBalancerStatus {
        ingress: keep "ingress",
    }
    IngressPortStatus {
        port: keep "port",
        protocol: keep "protocol",
        error: keep "error",
    }
    IngressRule {
        host: nonzero "host",
        ingress_rule_value: inline,
    }
    IngressRuleValue {
        http: keep "http",
    }
    IngressServiceBackend {
        name: keep "name",
        port: keep "port",
    }
    IngressSpec {
        ingress_class_name: keep "ingressClassName",
        default_backend: keep "defaultBackend",
        tls: keep "tls",
        rules: keep "rules",
    }
    IngressStatus {
        load_balancer: keep "loadBalancer",
    }
    IngressTls {
        hosts: keep "hosts",
        secret_name: nonzero "secretName",
    }
    IpBlock {
        cidr: keep "cidr",
        except: keep "except",
    }
    NetworkPolicy {
        metadata: keep "metadata",
        spec: keep "spec",
    }
    NetworkPolicyEgressRule {
        ports: keep "ports",
        to: keep "to",
    }
    NetworkPolicyIngressRule {
        ports: keep "ports",
        from: keep "from",
    }
    NetworkPolicyPeer {
        pod_selector: keep "podSelector",
        namespace_selector: keep "namespaceSelector",
        ip_block: keep "ipBlock",
    }
    NetworkPolicyPort {
        protocol: keep "protocol",
        port: keep "port",
        end_port: keep "endPort",
    }
    NetworkPolicySpec {
        pod_selector: keep "podSelector",
        ingress: keep "ingress",
        egress: keep "egress",
        policy_types: keep "policyTypes",
    }
    ServiceBackendPort {
        name: nonzero "name",
        number: nonzero "number",
    }
}
