//! The JSON shape of the `core/v1` messages.

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
    AwsElasticBlockStoreVolumeSource {
        volume_id: keep "volumeID",
        fs_type: nonzero "fsType",
        partition: nonzero "partition",
        read_only: nonzero "readOnly",
    }
    AzureDiskVolumeSource {
        disk_name: keep "diskName",
        disk_uri: keep "diskURI",
        caching_mode: keep "cachingMode",
        fs_type: keep "fsType",
        read_only: keep "readOnly",
        kind: keep "kind",
    }
    AzureFileVolumeSource {
        secret_name: keep "secretName",
        share_name: keep "shareName",
        read_only: nonzero "readOnly",
    }
    CSIVolumeSource {
        driver: keep "driver",
        read_only: keep "readOnly",
        fs_type: keep "fsType",
        volume_attributes: keep "volumeAttributes",
        node_publish_secret_ref: keep "nodePublishSecretRef",
    }
    Capabilities {
        add: keep "add",
        drop: keep "drop",
    }
    CephFsVolumeSource {
        monitors: nullable "monitors",
        path: nonzero "path",
        user: nonzero "user",
        secret_file: nonzero "secretFile",
        secret_ref: keep "secretRef",
        read_only: nonzero "readOnly",
    }
    CinderVolumeSource {
        volume_id: keep "volumeID",
        fs_type: nonzero "fsType",
        read_only: nonzero "readOnly",
        secret_ref: keep "secretRef",
    }
    ClientIpConfig {
        timeout_seconds: keep "timeoutSeconds",
    }
    ClusterTrustBundleProjection {
        name: keep "name",
        signer_name: keep "signerName",
        label_selector: keep "labelSelector",
        optional: keep "optional",
        path: keep "path",
    }
    ConfigMap {
        metadata: keep "metadata",
        immutable: keep "immutable",
        data: keep "data",
        binary_data: keep "binaryData",
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
    ConfigMapProjection {
        local_object_reference: inline,
        items: keep "items",
        optional: keep "optional",
    }
    ConfigMapVolumeSource {
        local_object_reference: inline,
        items: keep "items",
        default_mode: keep "defaultMode",
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
    DownwardAPIProjection {
        items: keep "items",
    }
    DownwardAPIVolumeFile {
        path: keep "path",
        field_ref: keep "fieldRef",
        resource_field_ref: keep "resourceFieldRef",
        mode: keep "mode",
    }
    DownwardAPIVolumeSource {
        items: keep "items",
        default_mode: keep "defaultMode",
    }
    EmptyDirVolumeSource {
        medium: nonzero "medium",
        size_limit: keep "sizeLimit",
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
    EphemeralVolumeSource {
        volume_claim_template: keep "volumeClaimTemplate",
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
    ExecAction {
        command: keep "command",
    }
    FcVolumeSource {
        target_ww_ns: keep "targetWWNs",
        lun: keep "lun",
        fs_type: nonzero "fsType",
        read_only: nonzero "readOnly",
        wwids: keep "wwids",
    }
    FileKeySelector {
        volume_name: keep "volumeName",
        path: keep "path",
        key: keep "key",
        optional: keep "optional",
    }
    FlexVolumeSource {
        driver: keep "driver",
        fs_type: nonzero "fsType",
        secret_ref: keep "secretRef",
        read_only: nonzero "readOnly",
        options: keep "options",
    }
    FlockerVolumeSource {
        dataset_name: nonzero "datasetName",
        dataset_uuid: nonzero "datasetUUID",
    }
    GcePersistentDiskVolumeSource {
        pd_name: keep "pdName",
        fs_type: nonzero "fsType",
        partition: nonzero "partition",
        read_only: nonzero "readOnly",
    }
    GitRepoVolumeSource {
        repository: keep "repository",
        revision: nonzero "revision",
        directory: nonzero "directory",
    }
    GlusterfsVolumeSource {
        endpoints: keep "endpoints",
        path: keep "path",
        read_only: nonzero "readOnly",
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
    HostPathVolumeSource {
        path: keep "path",
        r#type: keep "type",
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
    ImageVolumeSource {
        reference: nonzero "reference",
        pull_policy: nonzero "pullPolicy",
    }
    IscsiVolumeSource {
        target_portal: keep "targetPortal",
        iqn: keep "iqn",
        lun: keep "lun",
        iscsi_interface: nonzero "iscsiInterface",
        fs_type: nonzero "fsType",
        read_only: nonzero "readOnly",
        portals: keep "portals",
        chap_auth_discovery: nonzero "chapAuthDiscovery",
        chap_auth_session: nonzero "chapAuthSession",
        secret_ref: keep "secretRef",
        initiator_name: keep "initiatorName",
    }
    KeyToPath {
        key: keep "key",
        path: keep "path",
        mode: keep "mode",
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
    ModifyVolumeStatus {
        target_volume_attributes_class_name: nonzero "targetVolumeAttributesClassName",
        status: keep "status",
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
    NfsVolumeSource {
        server: keep "server",
        path: keep "path",
        read_only: nonzero "readOnly",
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
    ObjectReference {
        kind: nonzero "kind",
        namespace: nonzero "namespace",
        name: nonzero "name",
        uid: nonzero "uid",
        api_version: nonzero "apiVersion",
        resource_version: nonzero "resourceVersion",
        field_path: nonzero "fieldPath",
    }
    PersistentVolumeClaim {
        metadata: keep "metadata",
        spec: keep "spec",
        status: keep "status",
    }
    PersistentVolumeClaimCondition {
        r#type: keep "type",
        status: keep "status",
        last_probe_time: keep "lastProbeTime",
        last_transition_time: keep "lastTransitionTime",
        reason: nonzero "reason",
        message: nonzero "message",
    }
    PersistentVolumeClaimSpec {
        access_modes: keep "accessModes",
        selector: keep "selector",
        resources: keep "resources",
        volume_name: nonzero "volumeName",
        storage_class_name: keep "storageClassName",
        volume_mode: keep "volumeMode",
        data_source: keep "dataSource",
        data_source_ref: keep "dataSourceRef",
        volume_attributes_class_name: keep "volumeAttributesClassName",
    }
    PersistentVolumeClaimStatus {
        phase: nonzero "phase",
        access_modes: keep "accessModes",
        capacity: keep "capacity",
        conditions: keep "conditions",
        allocated_resources: keep "allocatedResources",
        allocated_resource_statuses: keep "allocatedResourceStatuses",
        current_volume_attributes_class_name: keep "currentVolumeAttributesClassName",
        modify_volume_status: keep "modifyVolumeStatus",
    }
    PersistentVolumeClaimTemplate {
        metadata: keep "metadata",
        spec: keep "spec",
    }
    PersistentVolumeClaimVolumeSource {
        claim_name: keep "claimName",
        read_only: nonzero "readOnly",
    }
    PhotonPersistentDiskVolumeSource {
        pd_id: keep "pdID",
        fs_type: nonzero "fsType",
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
    PodCertificateProjection {
        signer_name: nonzero "signerName",
        key_type: nonzero "keyType",
        max_expiration_seconds: keep "maxExpirationSeconds",
        credential_bundle_path: nonzero "credentialBundlePath",
        key_path: nonzero "keyPath",
        certificate_chain_path: nonzero "certificateChainPath",
        user_annotations: keep "userAnnotations",
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
    PortStatus {
        port: keep "port",
        protocol: keep "protocol",
        error: keep "error",
    }
    PortworxVolumeSource {
        volume_id: keep "volumeID",
        fs_type: nonzero "fsType",
        read_only: nonzero "readOnly",
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
    ProjectedVolumeSource {
        sources: nullable "sources",
        default_mode: keep "defaultMode",
    }
    QuobyteVolumeSource {
        registry: keep "registry",
        volume: keep "volume",
        read_only: nonzero "readOnly",
        user: nonzero "user",
        group: nonzero "group",
        tenant: nonzero "tenant",
    }
    RbdVolumeSource {
        monitors: nullable "monitors",
        image: keep "image",
        fs_type: nonzero "fsType",
        pool: nonzero "pool",
        user: nonzero "user",
        keyring: nonzero "keyring",
        secret_ref: keep "secretRef",
        read_only: nonzero "readOnly",
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
    ResourceRequirements {
        limits: keep "limits",
        requests: keep "requests",
        claims: keep "claims",
    }
    ResourceStatus {
        name: keep "name",
        resources: keep "resources",
    }
    ScaleIoVolumeSource {
        gateway: keep "gateway",
        system: keep "system",
        secret_ref: keep "secretRef",
        ssl_enabled: nonzero "sslEnabled",
        protection_domain: nonzero "protectionDomain",
        storage_pool: nonzero "storagePool",
        storage_mode: nonzero "storageMode",
        volume_name: nonzero "volumeName",
        fs_type: nonzero "fsType",
        read_only: nonzero "readOnly",
    }
    ScopeSelector {
        match_expressions: keep "matchExpressions",
    }
    ScopedResourceSelectorRequirement {
        scope_name: keep "scopeName",
        operator: keep "operator",
        values: keep "values",
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
    Secret {
        metadata: keep "metadata",
        immutable: keep "immutable",
        data: keep "data",
        string_data: keep "stringData",
        r#type: nonzero "type",
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
    SecretProjection {
        local_object_reference: inline,
        items: keep "items",
        optional: keep "optional",
    }
    SecretVolumeSource {
        secret_name: nonzero "secretName",
        items: keep "items",
        default_mode: keep "defaultMode",
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
    ServiceAccountTokenProjection {
        audience: nonzero "audience",
        expiration_seconds: keep "expirationSeconds",
        path: keep "path",
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
    SleepAction {
        seconds: keep "seconds",
    }
    StorageOsVolumeSource {
        volume_name: nonzero "volumeName",
        volume_namespace: nonzero "volumeNamespace",
        fs_type: nonzero "fsType",
        read_only: nonzero "readOnly",
        secret_ref: keep "secretRef",
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
    TypedLocalObjectReference {
        api_group: keep "apiGroup",
        kind: keep "kind",
        name: keep "name",
    }
    TypedObjectReference {
        api_group: keep "apiGroup",
        kind: keep "kind",
        name: keep "name",
        namespace: keep "namespace",
    }
    Volume {
        name: keep "name",
        volume_source: inline,
    }
    VolumeDevice {
        name: keep "name",
        device_path: keep "devicePath",
    }
    VolumeMount {
        name: keep "name",
        read_only: nonzero "readOnly",
        recursive_read_only: keep "recursiveReadOnly",
        mount_path: keep "mountPath",
        sub_path: nonzero "subPath",
        mount_propagation: keep "mountPropagation",
        sub_path_expr: nonzero "subPathExpr",
    }
    VolumeMountStatus {
        name: keep "name",
        mount_path: keep "mountPath",
        read_only: nonzero "readOnly",
        recursive_read_only: keep "recursiveReadOnly",
    }
    VolumeProjection {
        secret: keep "secret",
        downward_api: keep "downwardAPI",
        config_map: keep "configMap",
        service_account_token: keep "serviceAccountToken",
        cluster_trust_bundle: keep "clusterTrustBundle",
        pod_certificate: keep "podCertificate",
    }
    VolumeResourceRequirements {
        limits: keep "limits",
        requests: keep "requests",
    }
    VolumeSource {
        host_path: keep "hostPath",
        empty_dir: keep "emptyDir",
        gce_persistent_disk: keep "gcePersistentDisk",
        aws_elastic_block_store: keep "awsElasticBlockStore",
        git_repo: keep "gitRepo",
        secret: keep "secret",
        nfs: keep "nfs",
        iscsi: keep "iscsi",
        glusterfs: keep "glusterfs",
        persistent_volume_claim: keep "persistentVolumeClaim",
        rbd: keep "rbd",
        flex_volume: keep "flexVolume",
        cinder: keep "cinder",
        cephfs: keep "cephfs",
        flocker: keep "flocker",
        downward_api: keep "downwardAPI",
        fc: keep "fc",
        azure_file: keep "azureFile",
        config_map: keep "configMap",
        vsphere_volume: keep "vsphereVolume",
        quobyte: keep "quobyte",
        azure_disk: keep "azureDisk",
        photon_persistent_disk: keep "photonPersistentDisk",
        projected: keep "projected",
        portworx_volume: keep "portworxVolume",
        scale_io: keep "scaleIO",
        storageos: keep "storageos",
        csi: keep "csi",
        ephemeral: keep "ephemeral",
        image: keep "image",
    }
    VsphereVirtualDiskVolumeSource {
        volume_path: keep "volumePath",
        fs_type: nonzero "fsType",
        storage_policy_name: nonzero "storagePolicyName",
        storage_policy_id: nonzero "storagePolicyID",
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
