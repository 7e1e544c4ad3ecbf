# Who may do what. The renewers share one dynamic group (their functions, by OCID) and the monitor has its own,
# so the monitor never gets a renewer's writes; a fixed set of statements serves any number of renewers, since
# each grant names the fleet's zones, vault, key and secret prefix. Grants name the zone, vault, key and the
# secrets wherever OCI documents a policy variable for them; where it does not (Load Balancer, Notifications),
# the compartment is the scope. Policies sit at the tenancy root because they reach into several compartments
# and "inspect tenancies" can only be granted there; identity resources live in the home region (oci.home).
# certmgr/cloud/permissions.json lists each OCI operation certmgr calls and the grant it needs, and a single
# certificate's statements with the deployment's names as placeholders (certmgr fills them in to name the
# grant an error lacks); tests/unit/test_terraform_iam.py holds these statements to it.

locals {
  # Names are known before the groups exist; a missing existing name shows as a placeholder in the
  # policy_statements output, and the policies' preconditions refuse to apply it.
  renewer_group = var.create_dynamic_group ? "${var.name_prefix}-certmgr-renewer" : coalesce(var.existing_dynamic_group_name, "<existing_dynamic_group_name>")
  monitor_group = var.create_dynamic_group ? "${var.name_prefix}-certmgr-monitor" : coalesce(var.existing_monitor_dynamic_group_name, var.existing_dynamic_group_name, "<existing_monitor_dynamic_group_name>")
  isolated      = local.fleet && var.isolate_entry_secrets

  # The groups the module makes, by name: the renewers (and, with isolate_entry_secrets, each renewer alone)
  # and the monitor. Matching rules name functions by OCID (Writing Matching Rules to Define Dynamic Groups:
  # resource.id), so no other function of the compartment joins; a changed rule takes effect within about an
  # hour (Identity/dynamicgroups/Updating_Dynamic_Groups.htm), so a new entry's first runs may be refused.
  dynamic_groups = merge(
    length(local.entries) > 0 ? { (local.renewer_group) = "ANY {${join(", ", [for f in oci_functions_function.renewer : "resource.id = '${f.id}'"])}}" } : {},
    local.isolated ? { for prefix, f in oci_functions_function.renewer : "${prefix}-certmgr-renewer" => "ANY {resource.id = '${f.id}'}" } : {},
    local.monitor_enabled ? { (local.monitor_group) = "ANY {resource.id = '${oci_functions_function.monitor[0].id}'}" } : {},
  )

  # DNS (https://docs.oracle.com/iaas/Content/Identity/Reference/dnspolicyreference.htm): target.dns-zone.id is
  # documented for dns-zones and dns-records. PatchZoneRecords needs DNS_ZONE_UPDATE and DNS_RECORD_UPDATE
  # (the page's operation table), so the zone permission is granted for that operation alone (request.operation,
  # a general variable) and the record permissions for the fleet's zones only. Records are not limited to TXT:
  # the page lists target.dns-record.type without the operations that set it and notes that a policy using it
  # authorizes only the RRSet operations, not PatchZoneRecords; certmgr also reads the CNAME at _acme-challenge.
  zone_ids       = distinct([for e in local.entries : e.dns_zone_id])
  zone_condition = length(local.zone_ids) == 1 ? "target.dns-zone.id = '${join("", local.zone_ids)}'" : "any {${join(", ", [for z in local.zone_ids : "target.dns-zone.id = '${z}'"])}}"

  # Vault (https://docs.oracle.com/iaas/Content/Identity/Reference/keypolicyreference.htm): target.vault.id,
  # target.key.id and target.secret.name (a name or a /prefix*/ pattern: Identity/policysyntax/conditions.htm) are
  # documented for secret-family. Each of a renewer's secrets may be read and updated (use), created
  # (SECRET_CREATE) and have old versions deleted (secret-versions): a single certificate's by exact name; a
  # fleet's by the prefix every entry's begins with, "<name_prefix>-" (entry keys are letters and digits, so
  # "<name_prefix>-<key>-" begins no other entry's); with isolate_entry_secrets, each entry's alone, by its own group.
  secret_scopes = !local.fleet ? [for role in local.secret_roles : { group = local.renewer_group, name = "'${var.name_prefix}-${role}'" }] : (
    local.isolated ? [for prefix in keys(local.entries) : { group = "${prefix}-certmgr-renewer", name = "/${prefix}-*/" }] :
  [{ group = local.renewer_group, name = "/${var.name_prefix}-*/" }])
  # The exact secrets a renewer keeps (certmgr's Config.kept_secrets: the run lock included, a fallback CA's
  # account key only with one).
  secret_roles = concat(["certificate", "private-key", "chain", "acme-account-key", "lock"], local.fallback_directory == null ? [] : ["acme-fallback-account-key"])

  renewer_statements = concat(
    [
      "Allow dynamic-group ${local.renewer_group} to read dns-zones in compartment id ${local.dns_zone_compartment_id} where ${local.zone_condition}",
      "Allow dynamic-group ${local.renewer_group} to use dns-zones in compartment id ${local.dns_zone_compartment_id} where request.operation = 'PatchZoneRecords'",
      "Allow dynamic-group ${local.renewer_group} to manage dns-records in compartment id ${local.dns_zone_compartment_id} where ${local.zone_condition}",
      # ListSecrets finds a secret by name (metadata only, compartment-wide).
      "Allow dynamic-group ${local.renewer_group} to inspect secrets in compartment id ${var.compartment_id}",
    ],
    flatten([for s in local.secret_scopes : [
      "Allow dynamic-group ${s.group} to use secret-family in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = ${s.name}}",
      "Allow dynamic-group ${s.group} to manage secrets in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = ${s.name}, request.permission = 'SECRET_CREATE'}",
      "Allow dynamic-group ${s.group} to manage secret-versions in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = ${s.name}}",
    ]]),
    [
      "Allow dynamic-group ${local.renewer_group} to use vaults in compartment id ${local.vault_compartment_id} where target.vault.id = '${var.vault_id}'",
      "Allow dynamic-group ${local.renewer_group} to use keys in compartment id ${local.vault_compartment_id} where target.key.id = '${var.vault_key_id}'",
      # Load Balancing (https://docs.oracle.com/iaas/Content/Identity/Reference/lbpolicyreference.htm)
      # documents only the general variables: the LB's compartment is the scope. READ for the LB, its
      # certificates and work requests; UPDATE for certificates and listeners. The verb "use" would also
      # allow moving the LB, so the statement lists the permissions instead.
      "Allow dynamic-group ${local.renewer_group} to {LOAD_BALANCER_READ, LOAD_BALANCER_UPDATE} in compartment id ${local.lb_compartment_id}",
    ],
    # Certificates (https://docs.oracle.com/iaas/Content/Identity/Reference/certificatespolicyreference.htm),
    # when an entry deploys through the Certificates service: create the certificate (and a successor), add
    # versions, schedule the deletion of a replaced certificate, and of old DEPRECATED versions. No bundles:
    # the renewer reads its key from Vault, never back from the service.
    anytrue([for e in values(local.entries) : e.certificate_name != null]) ? [
      "Allow dynamic-group ${local.renewer_group} to manage leaf-certificates in compartment id ${var.compartment_id}",
      "Allow dynamic-group ${local.renewer_group} to manage leaf-certificate-versions in compartment id ${var.compartment_id}",
    ] : [],
    local.metrics_statements["renewer"],
  )
  # Monitoring (https://docs.oracle.com/iaas/Content/Identity/Reference/monitoringpolicyreference.htm):
  # PostMetricData needs METRIC_WRITE ("use metrics"), scoped to certmgr's namespace by target.metrics.namespace.
  metrics_statements = { for role, group in { renewer = local.renewer_group, monitor = local.monitor_group } : role => var.enable_metrics ? [
    "Allow dynamic-group ${group} to use metrics in compartment id ${var.compartment_id} where target.metrics.namespace = 'certmgr'",
  ] : [] }
  # A policy holds at most 50 statements (limits.tf): only isolate_entry_secrets needs more than one.
  renewer_policies = { for i, statements in chunklist(local.renewer_statements, local.limits.statements_per_policy) : (i == 0 ? "renewer" : "renewer-${i + 1}") => statements if length(local.entries) > 0 }

  policy_purposes = {
    renewer   = "DNS-01 in the fleet's zones, its Vault secrets, LB certificates"
    monitor   = "read certificates and load balancers, its memory secret, publish alerts"
    scheduler = "certmgr's schedules may invoke its functions"
  }

  monitor_scope   = var.monitor_compartment_id == null ? "tenancy" : "compartment id ${var.monitor_compartment_id}"
  monitor_secrets = ["${var.name_prefix}-monitor-state", "${var.name_prefix}-certificate"]
  monitor_statements = concat(
    [
      # Identity (https://docs.oracle.com/iaas/Content/Identity/Reference/iampolicyreference.htm): subscribed
      # regions and compartment names.
      "Allow dynamic-group ${local.monitor_group} to inspect tenancies in tenancy",
      "Allow dynamic-group ${local.monitor_group} to inspect compartments in ${local.monitor_scope}",
      # Certificates (certificatespolicyreference.htm, above), found through Resource Search, and load balancers'.
      "Allow dynamic-group ${local.monitor_group} to read leaf-certificate-family in ${local.monitor_scope}",
      "Allow dynamic-group ${local.monitor_group} to read load-balancers in ${local.monitor_scope}",
      # API Gateway (https://docs.oracle.com/iaas/Content/Identity/Reference/apigatewaypolicyreference.htm):
      # ListCertificates, whose summaries carry each certificate's names and expiry.
      "Allow dynamic-group ${local.monitor_group} to inspect api-certificates in ${local.monitor_scope}",
      # Vault (keypolicyreference.htm, above): its memory secret (read, create, update, prune) and certmgr's
      # certificate (read), by exact name.
      "Allow dynamic-group ${local.monitor_group} to inspect secrets in compartment id ${var.compartment_id}",
      "Allow dynamic-group ${local.monitor_group} to use secret-family in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = '${local.monitor_secrets[0]}'}",
      "Allow dynamic-group ${local.monitor_group} to manage secrets in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = '${local.monitor_secrets[0]}', request.permission = 'SECRET_CREATE'}",
      "Allow dynamic-group ${local.monitor_group} to manage secret-versions in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = '${local.monitor_secrets[0]}'}",
      "Allow dynamic-group ${local.monitor_group} to read secret-bundles in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = '${local.monitor_secrets[1]}'}",
      # The renewers' run records (what the digest says of their last runs), in the metadata of their lock secrets,
      # whose content is a placeholder: every "<prefix>-lock" of the vault.
      "Allow dynamic-group ${local.monitor_group} to read secret-bundles in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = /*-lock/}",
      "Allow dynamic-group ${local.monitor_group} to use vaults in compartment id ${local.vault_compartment_id} where target.vault.id = '${var.vault_id}'",
      "Allow dynamic-group ${local.monitor_group} to use keys in compartment id ${local.vault_compartment_id} where target.key.id = '${var.vault_key_id}'",
    ],
    length(local.smtp_secret_ids) > 0 ? [
      "Allow dynamic-group ${local.monitor_group} to read secret-bundles in tenancy where any {${join(", ", [for id in local.smtp_secret_ids : "target.secret.id = '${id}'"])}}",
    ] : [],
    # Notifications (https://docs.oracle.com/iaas/Content/Identity/Reference/notificationpolicyreference.htm)
    # and Logging ingestion into its log's group only (https://docs.oracle.com/iaas/Content/Identity/Reference/
    # loggingpolicyreference.htm: target.loggroup.id is documented for log-content).
    # Email Delivery (https://docs.oracle.com/iaas/Content/Identity/Reference/emailpolicyreference.htm): sending
    # is "use approved-senders" (APPROVED_SENDER_USE, whose operation the page lists as SmtpSend), and
    # target.approved-sender.emailaddress applies to every operation but ListSenders. The revision read does not
    # list the HTTPS submission (SubmitEmail, which takes the function's identity: Email/Concepts/email-submission-
    # using-https.htm), so it is taken as the same sending permission; `certmgr check` lists it as unproven. The
    # sender is looked up in compartment_id (Sender.compartmentId: the monitor passes CERTMGR_COMPARTMENT_ID).
    var.monitor_email_from != null && length(local.smtp_secret_ids) == 0 ? [
      "Allow dynamic-group ${local.monitor_group} to use approved-senders in compartment id ${var.compartment_id} where target.approved-sender.emailaddress = '${var.monitor_email_from}'",
    ] : [],
    local.metrics_statements["monitor"],
    local.monitor_has_topic ? [
      "Allow dynamic-group ${local.monitor_group} to use ons-topics in compartment id ${var.compartment_id} where request.permission = 'ONS_TOPIC_PUBLISH'",
    ] : [],
    local.monitor_has_log ? [
      "Allow dynamic-group ${local.monitor_group} to use log-content in compartment id ${var.compartment_id} where target.loggroup.id = '${local.monitor_log_group_id}'",
    ] : [],
  )
  monitor_log_group_id = var.monitor_log_id != null ? coalesce(var.monitor_log_group_id, "<monitor_log_group_id>") : one(oci_logging_log_group.this[*].id)

  # A schedule acts as its own principal (request.principal.id, as in Resource Scheduler's examples:
  # https://docs.oracle.com/iaas/Content/resource-scheduler/tasks/policies.htm): these schedules, and no other,
  # may invoke functions of the compartment. Two statements, however many schedules.
  scheduler_statements = [
    for grant in ["read fn-function", "use fn-invocation"] :
    "Allow any-user to ${grant} in compartment id ${var.compartment_id} where any {${join(", ", [for s in oci_resource_scheduler_schedule.this : "request.principal.id = '${s.id}'"])}}"
  ]
}

resource "oci_identity_dynamic_group" "this" {
  provider = oci.home # identity lives in the home region
  for_each = var.create_dynamic_group ? local.dynamic_groups : {}

  compartment_id = var.tenancy_ocid
  name           = each.key
  description    = "certmgr functions: ${each.key}"
  matching_rule  = each.value
  freeform_tags  = local.tags

  lifecycle {
    precondition {
      condition     = length(each.value) <= local.limits.matching_rule_characters
      error_message = "${each.key}'s matching rule takes ${length(each.value)} characters, and OCI allows ${local.limits.matching_rule_characters}: split the fleet between module calls of their own name_prefix."
    }
  }
}

resource "oci_identity_policy" "this" {
  provider = oci.home # identity lives in the home region
  for_each = var.create_policies ? local.policies : {}

  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-certmgr-${each.key}"
  description    = "certmgr ${each.key}: ${local.policy_purposes[split("-", each.key)[0]]}"
  statements     = each.value
  freeform_tags  = local.tags
  depends_on     = [oci_identity_dynamic_group.this]

  lifecycle {
    precondition {
      condition     = var.create_dynamic_group || !local.isolated
      error_message = "isolate_entry_secrets gives each renewer a dynamic group of its own: it needs create_dynamic_group."
    }
    precondition {
      condition     = var.create_dynamic_group || each.key == "scheduler" || var.existing_dynamic_group_name != null || (each.key == "monitor" && var.existing_monitor_dynamic_group_name != null)
      error_message = "Set existing_dynamic_group_name (and existing_monitor_dynamic_group_name for a monitor group of its own) when create_dynamic_group is false."
    }
  }
}

# Where earlier versions of this module kept the policies whose addresses are fixed: updated in place, not
# replaced. (The renewers' group and policy, and the schedules, were keyed by the certificate's prefix.)
moved {
  from = oci_identity_policy.monitor[0]
  to   = oci_identity_policy.this["monitor"]
}

moved {
  from = oci_identity_policy.scheduler[0]
  to   = oci_identity_policy.this["scheduler"]
}
