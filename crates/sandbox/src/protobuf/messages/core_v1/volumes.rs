//! The JSON shape of the `core/v1` volumes: every volume source, projections, mounts and
//! the PersistentVolumeClaims that ephemeral volumes embed.

use k8s_pb::api::core::v1::*;

use crate::protobuf::json::messages;

messages! {
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
    ClusterTrustBundleProjection {
        name: keep "name",
        signer_name: keep "signerName",
        label_selector: keep "labelSelector",
        optional: keep "optional",
        path: keep "path",
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
    EphemeralVolumeSource {
        volume_claim_template: keep "volumeClaimTemplate",
    }
    FcVolumeSource {
        target_ww_ns: keep "targetWWNs",
        lun: keep "lun",
        fs_type: nonzero "fsType",
        read_only: nonzero "readOnly",
        wwids: keep "wwids",
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
    HostPathVolumeSource {
        path: keep "path",
        r#type: keep "type",
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
    ModifyVolumeStatus {
        target_volume_attributes_class_name: nonzero "targetVolumeAttributesClassName",
        status: keep "status",
    }
    NfsVolumeSource {
        server: keep "server",
        path: keep "path",
        read_only: nonzero "readOnly",
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
    PodCertificateProjection {
        signer_name: nonzero "signerName",
        key_type: nonzero "keyType",
        max_expiration_seconds: keep "maxExpirationSeconds",
        credential_bundle_path: nonzero "credentialBundlePath",
        key_path: nonzero "keyPath",
        certificate_chain_path: nonzero "certificateChainPath",
        user_annotations: keep "userAnnotations",
    }
    PortworxVolumeSource {
        volume_id: keep "volumeID",
        fs_type: nonzero "fsType",
        read_only: nonzero "readOnly",
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
    ServiceAccountTokenProjection {
        audience: nonzero "audience",
        expiration_seconds: keep "expirationSeconds",
        path: keep "path",
    }
    StorageOsVolumeSource {
        volume_name: nonzero "volumeName",
        volume_namespace: nonzero "volumeNamespace",
        fs_type: nonzero "fsType",
        read_only: nonzero "readOnly",
        secret_ref: keep "secretRef",
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
}
