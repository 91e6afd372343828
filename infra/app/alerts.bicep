// Alerts over the app's telemetry in Application Insights, modelled on Azure Backup's built-in
// Azure Monitor alerts: job failures are Sev 1 ("Error") and fire once per failure (stateless,
// no auto-resolve); overdue backups stay open until a backup succeeds again.
// Missed slots (BackupSlotMissed: no backup started within the start window) alert once per
// instance per outage: the rule is stateful and split by instance, so it fires when the first
// slot is missed, stays fired while more are missed within its window, and resolves once none
// has been missed for a whole window.
//
// The queries read only names from infra/telemetry-contract.json (tests/infra checks this).
// They are multi-line strings: no interpolation, the KQL is exactly what runs.
param namePrefix string
param actionGroupName string
param location string
param tags object = {}
param applicationInsightsName string

@description('E-mail addresses that receive every alert.')
param emailAddresses array = []

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'diskbackup'
    enabled: true
    emailReceivers: [for (address, i) in emailAddresses: {
      name: 'email-${i}'
      emailAddress: trim(address)
      useCommonAlertSchema: true
    }]
  }
}

var failedBackupsQuery = '''
customMetrics
| where name == "backup.jobs"
| extend jobType = tostring(customDimensions["job.type"]), outcome = tostring(customDimensions["job.outcome"])
| where outcome == "Failed" and jobType in ("ScheduledBackup", "OnDemandBackup")
| extend vault = tostring(customDimensions["vault"]), instance = tostring(customDimensions["instance"])
| summarize failedJobs = sum(valueSum) by vault, instance, jobType
'''

var failedRestoresQuery = '''
customMetrics
| where name == "backup.jobs"
| extend jobType = tostring(customDimensions["job.type"]), outcome = tostring(customDimensions["job.outcome"])
| where outcome == "Failed" and jobType == "Restore"
| extend vault = tostring(customDimensions["vault"]), instance = tostring(customDimensions["instance"])
| summarize failedJobs = sum(valueSum) by vault, instance
'''

// overdueRatio = age of the newest successful backup / the instance's backup interval;
// the rule fires above 2, i.e. no successful backup for more than twice the interval.
var overdueBackupsQuery = '''
customMetrics
| where name == "backup.last_success_age_seconds"
| extend vault = tostring(customDimensions["vault"]), instance = tostring(customDimensions["instance"])
| extend intervalSeconds = todouble(customDimensions["interval_seconds"])
| where intervalSeconds > 0
| summarize arg_max(timestamp, value, intervalSeconds) by vault, instance
| extend overdueRatio = value / intervalSeconds
| project vault, instance, overdueRatio
'''

var poisonMessagesQuery = '''
customMetrics
| where name == "backup.poison_messages"
| extend queue = tostring(customDimensions["queue"])
| summarize poisonMessages = sum(valueSum) by queue
'''

var missedSlotsQuery = '''
customMetrics
| where name == "backup.slots.missed"
| extend vault = tostring(customDimensions["vault"]), instance = tostring(customDimensions["instance"])
| summarize missedSlots = sum(valueSum) by vault, instance
'''

// One entry per rule; the rule resources below are a loop over it.
var rules = [
  {
    key: 'backup-job-failed'
    displayName: 'Disk backup: backup job failed'
    description: 'A scheduled or on-demand backup job ended Failed. One alert per vault, instance and job type.'
    severity: 1
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    autoMitigate: false
    query: failedBackupsQuery
    measure: 'failedJobs'
    timeAggregation: 'Total'
    threshold: 0
    dimensions: [
      'vault'
      'instance'
      'jobType'
    ]
  }
  {
    key: 'restore-job-failed'
    displayName: 'Disk backup: restore job failed'
    description: 'A restore job ended Failed. One alert per vault and instance.'
    severity: 1
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    autoMitigate: false
    query: failedRestoresQuery
    measure: 'failedJobs'
    timeAggregation: 'Total'
    threshold: 0
    dimensions: [
      'vault'
      'instance'
    ]
  }
  {
    key: 'backup-overdue'
    displayName: 'Disk backup: no successful backup for twice the interval'
    description: 'The newest successful backup of an instance is older than twice its policy interval. Resolves when a backup succeeds.'
    severity: 1
    evaluationFrequency: 'PT15M'
    windowSize: 'PT30M'
    autoMitigate: true
    query: overdueBackupsQuery
    measure: 'overdueRatio'
    timeAggregation: 'Maximum'
    threshold: 2
    dimensions: [
      'vault'
      'instance'
    ]
  }
  {
    key: 'backup-slots-missed'
    displayName: 'Disk backup: scheduled slots missed'
    description: 'Scheduled slots of an instance were recorded as missed (BackupSlotMissed): the app, its queue or the ARM budget could not start them within the start window. One alert per vault and instance per outage; resolves when no slot has been missed for six hours.'
    severity: 1
    evaluationFrequency: 'PT15M'
    windowSize: 'PT6H'
    autoMitigate: true
    query: missedSlotsQuery
    measure: 'missedSlots'
    timeAggregation: 'Total'
    threshold: 0
    dimensions: [
      'vault'
      'instance'
    ]
  }
  {
    key: 'poison-messages'
    displayName: 'Disk backup: messages moved to a poison queue'
    description: 'A backup, retention or restore message failed maxDequeueCount times and was moved to its -poison queue.'
    severity: 1
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    autoMitigate: false
    query: poisonMessagesQuery
    measure: 'poisonMessages'
    timeAggregation: 'Total'
    threshold: 0
    dimensions: [
      'queue'
    ]
  }
]

resource queryRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: '${namePrefix}-${rule.key}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: true
    evaluationFrequency: rule.evaluationFrequency
    windowSize: rule.windowSize
    autoMitigate: rule.autoMitigate
    scopes: [
      applicationInsights.id
    ]
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: rule.timeAggregation
          metricMeasureColumn: rule.measure
          operator: 'GreaterThan'
          threshold: rule.threshold
          dimensions: [for dimension in rule.dimensions: {
            name: dimension
            operator: 'Include'
            values: [
              '*'
            ]
          }]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

output actionGroupId string = actionGroup.id
output ruleNames array = [for (rule, i) in rules: queryRules[i].name]
