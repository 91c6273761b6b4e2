//! The JSON shape of the `core/v1` Pod and its spec: containers, probes, security contexts,
//! scheduling (affinity, tolerations, topology) and status. Volumes are in `volumes`.

use k8s_pb::api::core::v1::*;

use crate::protobuf::json::messages;

messages! {
    Affinity {
        node_affinity: keep "nodeAffinity",
        pod_affinity: keep "podAffinity",
        pod_anti_affinity: keep "podAntiAffinity",
    }
    AppArmorProfile {
        r#type: keep "type",
        localhost_profile: keep "localhostProfile",
    }
    Capabilities {
        add: keep "add",
        drop: keep "drop",
    }
    ConfigMapEnvSource {
        local_object_reference: inline,
        optional: keep "optional",
    }
    ConfigMapKeySelector {
        local_object_reference: inline,
        key: keep "key",
        optional: keep "optional",
    }
    Container {
        name: keep "name",
        image: nonzero "image",
        command: keep "command",
        args: keep "args",
        working_dir: nonzero "workingDir",
        ports: keep "ports",
        env_from: keep "envFrom",
        env: keep "env",
        resources: keep "resources",
        resize_policy: keep "resizePolicy",
        restart_policy: keep "restartPolicy",
        restart_policy_rules: keep "restartPolicyRules",
        volume_mounts: keep "volumeMounts",
        volume_devices: keep "volumeDevices",
        liveness_probe: keep "livenessProbe",
        readiness_probe: keep "readinessProbe",
        startup_probe: keep "startupProbe",
        lifecycle: keep "lifecycle",
        termination_message_path: nonzero "terminationMessagePath",
        termination_message_policy: nonzero "terminationMessagePolicy",
        image_pull_policy: nonzero "imagePullPolicy",
        security_context: keep "securityContext",
        stdin: nonzero "stdin",
        stdin_once: nonzero "stdinOnce",
        tty: nonzero "tty",
    }
    ContainerExtendedResourceRequest {
        container_name: keep "containerName",
        resource_name: keep "resourceName",
        request_name: keep "requestName",
    }
    ContainerPort {
        name: nonzero "name",
        host_port: nonzero "hostPort",
        container_port: keep "containerPort",
        protocol: nonzero "protocol",
        host_ip: nonzero "hostIP",
    }
    ContainerResizePolicy {
        resource_name: keep "resourceName",
        restart_policy: keep "restartPolicy",
    }
    ContainerRestartRule {
        action: nonzero "action",
        exit_codes: keep "exitCodes",
    }
    ContainerRestartRuleOnExitCodes {
        operator: nonzero "operator",
        values: keep "values",
    }
    ContainerState {
        waiting: keep "waiting",
        running: keep "running",
        terminated: keep "terminated",
    }
    ContainerStateRunning {
        started_at: keep "startedAt",
    }
    ContainerStateTerminated {
        exit_code: keep "exitCode",
        signal: nonzero "signal",
        reason: nonzero "reason",
        message: nonzero "message",
        started_at: keep "startedAt",
        finished_at: keep "finishedAt",
        container_id: nonzero "containerID",
    }
    ContainerStateWaiting {
        reason: nonzero "reason",
        message: nonzero "message",
    }
    ContainerStatus {
        name: keep "name",
        state: keep "state",
        last_state: keep "lastState",
        ready: keep "ready",
        restart_count: keep "restartCount",
        image: keep "image",
        image_id: keep "imageID",
        container_id: nonzero "containerID",
        started: keep "started",
        allocated_resources: keep "allocatedResources",
        resources: keep "resources",
        volume_mounts: keep "volumeMounts",
        user: keep "user",
        allocated_resources_status: keep "allocatedResourcesStatus",
        stop_signal: keep "stopSignal",
    }
    ContainerUser {
        linux: keep "linux",
    }
    EnvFromSource {
        prefix: nonzero "prefix",
        config_map_ref: keep "configMapRef",
        secret_ref: keep "secretRef",
    }
    EnvVar {
        name: keep "name",
        value: nonzero "value",
        value_from: keep "valueFrom",
    }
    EnvVarSource {
        field_ref: keep "fieldRef",
        resource_field_ref: keep "resourceFieldRef",
        config_map_key_ref: keep "configMapKeyRef",
        secret_key_ref: keep "secretKeyRef",
        file_key_ref: keep "fileKeyRef",
    }
    EphemeralContainer {
        ephemeral_container_common: inline,
        target_container_name: nonzero "targetContainerName",
    }
    EphemeralContainerCommon {
        name: keep "name",
        image: nonzero "image",
        command: keep "command",
        args: keep "args",
        working_dir: nonzero "workingDir",
        ports: keep "ports",
        env_from: keep "envFrom",
        env: keep "env",
        resources: keep "resources",
        resize_policy: keep "resizePolicy",
        restart_policy: keep "restartPolicy",
        restart_policy_rules: keep "restartPolicyRules",
        volume_mounts: keep "volumeMounts",
        volume_devices: keep "volumeDevices",
        liveness_probe: keep "livenessProbe",
        readiness_probe: keep "readinessProbe",
        startup_probe: keep "startupProbe",
        lifecycle: keep "lifecycle",
        termination_message_path: nonzero "terminationMessagePath",
        termination_message_policy: nonzero "terminationMessagePolicy",
        image_pull_policy: nonzero "imagePullPolicy",
        security_context: keep "securityContext",
        stdin: nonzero "stdin",
        stdin_once: nonzero "stdinOnce",
        tty: nonzero "tty",
    }
    ExecAction {
        command: keep "command",
    }
    FileKeySelector {
        volume_name: keep "volumeName",
        path: keep "path",
        key: keep "key",
        optional: keep "optional",
    }
    GrpcAction {
        port: keep "port",
        service: keep "service",
    }
    HostAlias {
        ip: keep "ip",
        hostnames: keep "hostnames",
    }
    HostIp {
        ip: keep "ip",
    }
    HttpGetAction {
        path: nonzero "path",
        port: keep "port",
        host: nonzero "host",
        scheme: nonzero "scheme",
        http_headers: keep "httpHeaders",
    }
    HttpHeader {
        name: keep "name",
        value: keep "value",
    }
    Lifecycle {
        post_start: keep "postStart",
        pre_stop: keep "preStop",
        stop_signal: keep "stopSignal",
    }
    LifecycleHandler {
        exec: keep "exec",
        http_get: keep "httpGet",
        tcp_socket: keep "tcpSocket",
        sleep: keep "sleep",
    }
    LinuxContainerUser {
        uid: keep "uid",
        gid: keep "gid",
        supplemental_groups: keep "supplementalGroups",
    }
    NodeAffinity {
        required_during_scheduling_ignored_during_execution: keep "requiredDuringSchedulingIgnoredDuringExecution",
        preferred_during_scheduling_ignored_during_execution: keep "preferredDuringSchedulingIgnoredDuringExecution",
    }
    NodeSelector {
        node_selector_terms: nullable "nodeSelectorTerms",
    }
    NodeSelectorRequirement {
        key: keep "key",
        operator: keep "operator",
        values: keep "values",
    }
    NodeSelectorTerm {
        match_expressions: keep "matchExpressions",
        match_fields: keep "matchFields",
    }
    ObjectFieldSelector {
        api_version: nonzero "apiVersion",
        field_path: keep "fieldPath",
    }
    Pod {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    PodAffinity {
        required_during_scheduling_ignored_during_execution: keep "requiredDuringSchedulingIgnoredDuringExecution",
        preferred_during_scheduling_ignored_during_execution: keep "preferredDuringSchedulingIgnoredDuringExecution",
    }
    PodAffinityTerm {
        label_selector: keep "labelSelector",
        namespaces: keep "namespaces",
        topology_key: keep "topologyKey",
        namespace_selector: keep "namespaceSelector",
        match_label_keys: keep "matchLabelKeys",
        mismatch_label_keys: keep "mismatchLabelKeys",
    }
    PodAntiAffinity {
        required_during_scheduling_ignored_during_execution: keep "requiredDuringSchedulingIgnoredDuringExecution",
        preferred_during_scheduling_ignored_during_execution: keep "preferredDuringSchedulingIgnoredDuringExecution",
    }
    PodCondition {
        r#type: keep "type",
        observed_generation: nonzero "observedGeneration",
        status: keep "status",
        last_probe_time: keep "lastProbeTime",
        last_transition_time: keep "lastTransitionTime",
        reason: nonzero "reason",
        message: nonzero "message",
    }
    PodDnsConfig {
        nameservers: keep "nameservers",
        searches: keep "searches",
        options: keep "options",
    }
    PodDnsConfigOption {
        name: nonzero "name",
        value: keep "value",
    }
    PodExtendedResourceClaimStatus {
        request_mappings: nullable "requestMappings",
        resource_claim_name: keep "resourceClaimName",
    }
    PodIp {
        ip: keep "ip",
    }
    PodOs {
        name: keep "name",
    }
    PodReadinessGate {
        condition_type: keep "conditionType",
    }
    PodResourceClaim {
        name: keep "name",
        resource_claim_name: keep "resourceClaimName",
        resource_claim_template_name: keep "resourceClaimTemplateName",
    }
    PodResourceClaimStatus {
        name: keep "name",
        resource_claim_name: keep "resourceClaimName",
    }
    PodSchedulingGate {
        name: keep "name",
    }
    PodSecurityContext {
        se_linux_options: keep "seLinuxOptions",
        windows_options: keep "windowsOptions",
        run_as_user: keep "runAsUser",
        run_as_group: keep "runAsGroup",
        run_as_non_root: keep "runAsNonRoot",
        supplemental_groups: keep "supplementalGroups",
        supplemental_groups_policy: keep "supplementalGroupsPolicy",
        fs_group: keep "fsGroup",
        sysctls: keep "sysctls",
        fs_group_change_policy: keep "fsGroupChangePolicy",
        seccomp_profile: keep "seccompProfile",
        app_armor_profile: keep "appArmorProfile",
        se_linux_change_policy: keep "seLinuxChangePolicy",
    }
    PodSpec {
        volumes: keep "volumes",
        init_containers: keep "initContainers",
        containers: nullable "containers",
        ephemeral_containers: keep "ephemeralContainers",
        restart_policy: nonzero "restartPolicy",
        termination_grace_period_seconds: keep "terminationGracePeriodSeconds",
        active_deadline_seconds: keep "activeDeadlineSeconds",
        dns_policy: nonzero "dnsPolicy",
        node_selector: keep "nodeSelector",
        service_account_name: nonzero "serviceAccountName",
        service_account: nonzero "serviceAccount",
        automount_service_account_token: keep "automountServiceAccountToken",
        node_name: nonzero "nodeName",
        host_network: nonzero "hostNetwork",
        host_pid: nonzero "hostPID",
        host_ipc: nonzero "hostIPC",
        share_process_namespace: keep "shareProcessNamespace",
        security_context: keep "securityContext",
        image_pull_secrets: keep "imagePullSecrets",
        hostname: nonzero "hostname",
        subdomain: nonzero "subdomain",
        affinity: keep "affinity",
        scheduler_name: nonzero "schedulerName",
        tolerations: keep "tolerations",
        host_aliases: keep "hostAliases",
        priority_class_name: nonzero "priorityClassName",
        priority: keep "priority",
        dns_config: keep "dnsConfig",
        readiness_gates: keep "readinessGates",
        runtime_class_name: keep "runtimeClassName",
        enable_service_links: keep "enableServiceLinks",
        preemption_policy: keep "preemptionPolicy",
        overhead: keep "overhead",
        topology_spread_constraints: keep "topologySpreadConstraints",
        set_hostname_as_fqdn: keep "setHostnameAsFQDN",
        os: keep "os",
        host_users: keep "hostUsers",
        scheduling_gates: keep "schedulingGates",
        resource_claims: keep "resourceClaims",
        resources: keep "resources",
        hostname_override: keep "hostnameOverride",
        workload_ref: keep "workloadRef",
    }
    PodStatus {
        observed_generation: nonzero "observedGeneration",
        phase: nonzero "phase",
        conditions: keep "conditions",
        message: nonzero "message",
        reason: nonzero "reason",
        nominated_node_name: nonzero "nominatedNodeName",
        host_ip: nonzero "hostIP",
        host_ips: keep "hostIPs",
        pod_ip: nonzero "podIP",
        pod_ips: keep "podIPs",
        start_time: keep "startTime",
        init_container_statuses: keep "initContainerStatuses",
        container_statuses: keep "containerStatuses",
        qos_class: nonzero "qosClass",
        ephemeral_container_statuses: keep "ephemeralContainerStatuses",
        resize: nonzero "resize",
        resource_claim_statuses: keep "resourceClaimStatuses",
        extended_resource_claim_status: keep "extendedResourceClaimStatus",
        allocated_resources: keep "allocatedResources",
        resources: keep "resources",
    }
    PodTemplateSpec {
        metadata: keep "metadata",
        spec: keep "spec",
    }
    PreferredSchedulingTerm {
        weight: keep "weight",
        preference: keep "preference",
    }
    Probe {
        handler: inline,
        initial_delay_seconds: nonzero "initialDelaySeconds",
        timeout_seconds: nonzero "timeoutSeconds",
        period_seconds: nonzero "periodSeconds",
        success_threshold: nonzero "successThreshold",
        failure_threshold: nonzero "failureThreshold",
        termination_grace_period_seconds: keep "terminationGracePeriodSeconds",
    }
    ProbeHandler {
        exec: keep "exec",
        http_get: keep "httpGet",
        tcp_socket: keep "tcpSocket",
        grpc: keep "grpc",
    }
    ResourceClaim {
        name: keep "name",
        request: nonzero "request",
    }
    ResourceFieldSelector {
        container_name: nonzero "containerName",
        resource: keep "resource",
        divisor: keep "divisor",
    }
    ResourceHealth {
        resource_id: keep "resourceID",
        health: nonzero "health",
    }
    ResourceRequirements {
        limits: keep "limits",
        requests: keep "requests",
        claims: keep "claims",
    }
    ResourceStatus {
        name: keep "name",
        resources: keep "resources",
    }
    SeLinuxOptions {
        user: nonzero "user",
        role: nonzero "role",
        r#type: nonzero "type",
        level: nonzero "level",
    }
    SeccompProfile {
        r#type: keep "type",
        localhost_profile: keep "localhostProfile",
    }
    SecretEnvSource {
        local_object_reference: inline,
        optional: keep "optional",
    }
    SecretKeySelector {
        local_object_reference: inline,
        key: keep "key",
        optional: keep "optional",
    }
    SecurityContext {
        capabilities: keep "capabilities",
        privileged: keep "privileged",
        se_linux_options: keep "seLinuxOptions",
        windows_options: keep "windowsOptions",
        run_as_user: keep "runAsUser",
        run_as_group: keep "runAsGroup",
        run_as_non_root: keep "runAsNonRoot",
        read_only_root_filesystem: keep "readOnlyRootFilesystem",
        allow_privilege_escalation: keep "allowPrivilegeEscalation",
        proc_mount: keep "procMount",
        seccomp_profile: keep "seccompProfile",
        app_armor_profile: keep "appArmorProfile",
    }
    SleepAction {
        seconds: keep "seconds",
    }
    Sysctl {
        name: keep "name",
        value: keep "value",
    }
    TcpSocketAction {
        port: keep "port",
        host: nonzero "host",
    }
    Toleration {
        key: nonzero "key",
        operator: nonzero "operator",
        value: nonzero "value",
        effect: nonzero "effect",
        toleration_seconds: keep "tolerationSeconds",
    }
    TopologySpreadConstraint {
        max_skew: keep "maxSkew",
        topology_key: keep "topologyKey",
        when_unsatisfiable: keep "whenUnsatisfiable",
        label_selector: keep "labelSelector",
        min_domains: keep "minDomains",
        node_affinity_policy: keep "nodeAffinityPolicy",
        node_taints_policy: keep "nodeTaintsPolicy",
        match_label_keys: keep "matchLabelKeys",
    }
    WeightedPodAffinityTerm {
        weight: keep "weight",
        pod_affinity_term: keep "podAffinityTerm",
    }
    WindowsSecurityContextOptions {
        gmsa_credential_spec_name: keep "gmsaCredentialSpecName",
        gmsa_credential_spec: keep "gmsaCredentialSpec",
        run_as_user_name: keep "runAsUserName",
        host_process: keep "hostProcess",
    }
    WorkloadReference {
        name: keep "name",
        pod_group: keep "podGroup",
        pod_group_replica_key: nonzero "podGroupReplicaKey",
    }
}
