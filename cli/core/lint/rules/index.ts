/** Every rule, in the order `rowguard lint --list` and the docs show them. */
import type { Rule, RuleMeta } from '../types.js';
import { rule as rlsDisabledInApi } from './rls-disabled-in-api.js';
import { rule as policyExistsRlsDisabled } from './policy-exists-rls-disabled.js';
import { rule as rlsEnabledNoPolicy } from './rls-enabled-no-policy.js';
import { rule as viewBypassesRls } from './view-bypasses-rls.js';
import { rule as authUsersExposed } from './auth-users-exposed.js';
import { rule as securityDefinerRpc } from './security-definer-rpc.js';
import { rule as functionSearchPathMutable } from './function-search-path-mutable.js';
import { rule as policyUserMetadata } from './policy-user-metadata.js';
import { rule as policyTrustsRequestHeader } from './policy-trusts-request-header.js';
import { rule as policyTrustsWritableColumn } from './policy-trusts-writable-column.js';
import { rule as policyTrustsWritableLink } from './policy-trusts-writable-link.js';
import { rule as policySelfComparison } from './policy-self-comparison.js';
import { rule as policyReadsDefinerView } from './policy-reads-definer-view.js';
import { rule as policyVacuousAll } from './policy-vacuous-all.js';
import { rule as policyCurrentUser } from './policy-current-user.js';
import { rule as rlsOwnerIsApiRole } from './rls-owner-is-api-role.js';
import { rule as policySubselectUncorrelated } from './policy-subselect-uncorrelated.js';
import { rule as policyEmailPattern } from './policy-email-pattern.js';
import { rule as policyAlwaysTrue } from './policy-always-true.js';
import { rule as policyCheckUnbound } from './policy-check-unbound.js';
import { rule as ownerColumnRewritable } from './owner-column-rewritable.js';
import { rule as policySessionCheckPermissive } from './policy-session-check-permissive.js';
import { rule as policyAnonymousBranch } from './policy-anonymous-branch.js';
import { rule as policyToPublic } from './policy-to-public.js';
import { rule as writePolicyWithoutSelect } from './write-policy-without-select.js';
import { rule as rlsNotForced } from './rls-not-forced.js';
import { rule as anonWriteUnprotected } from './anon-write-unprotected.js';
import { rule as credentialColumnUnhashed } from './credential-column-unhashed.js';
import { rule as auditTableMutable } from './audit-table-mutable.js';
import { rule as migrationSecret } from './migration-secret.js';
import { rule as authCallPerRow } from './auth-call-per-row.js';
import { rule as lookupPerRow } from './lookup-per-row.js';
import { rule as multiplePermissivePolicies } from './multiple-permissive-policies.js';
import { rule as claimColumnUnindexed } from './claim-column-unindexed.js';
import { rule as unindexedForeignKey } from './unindexed-foreign-key.js';
import { rule as indexNotConcurrent } from './index-not-concurrent.js';
import { rule as addColumnNotNullNoDefault } from './add-column-not-null-no-default.js';
import { rule as tableRewrite } from './table-rewrite.js';
import { rule as dropColumnOrTable } from './drop-column-or-table.js';
import { rule as renameColumnOrTable } from './rename-column-or-table.js';
import { rule as constraintNotValid } from './constraint-not-valid.js';
import { rule as missingLockTimeout } from './missing-lock-timeout.js';
import { rule as noTransactionStatement } from './no-transaction-statement.js';
import { rule as unusedSuppression } from './unused-suppression.js';
import { rule as policyUnparsed } from './policy-unparsed.js';
import { rule as userMetadataCopied } from './user-metadata-copied.js';
import { rule as userEmailTrusted } from './user-email-trusted.js';
import { rule as extensionInApi } from './extension-in-api.js';
import { rule as writePolicyUnbound } from './write-policy-unbound.js';
import { rule as publicBucketListable } from './public-bucket-listable.js';
import { rule as partitionPolicyLooser } from './partition-policy-looser.js';
import { rule as triggerCopiesProtectedRows } from './trigger-copies-protected-rows.js';
import { rule as policyRecursion } from './policy-recursion.js';
import { rule as rpcSqlInjection } from './rpc-sql-injection.js';
import { rule as rpcSetsIdentity } from './rpc-sets-identity.js';

export const RULES: readonly Rule[] = [
  // security (catalog)
  rlsDisabledInApi,
  policyExistsRlsDisabled,
  partitionPolicyLooser,
  rlsEnabledNoPolicy,
  viewBypassesRls,
  authUsersExposed,
  securityDefinerRpc,
  rpcSqlInjection,
  rpcSetsIdentity,
  functionSearchPathMutable,
  extensionInApi,
  policyUserMetadata,
  userMetadataCopied,
  userEmailTrusted,
  triggerCopiesProtectedRows,
  policyTrustsRequestHeader,
  policyTrustsWritableColumn,
  policyTrustsWritableLink,
  policySelfComparison,
  policyReadsDefinerView,
  policyVacuousAll,
  policySubselectUncorrelated,
  policyCurrentUser,
  policyEmailPattern,
  policyAlwaysTrue,
  policyCheckUnbound,
  ownerColumnRewritable,
  policySessionCheckPermissive,
  policyAnonymousBranch,
  policyToPublic,
  publicBucketListable,
  writePolicyUnbound,
  writePolicyWithoutSelect,
  policyRecursion,
  rlsOwnerIsApiRole,
  rlsNotForced,
  anonWriteUnprotected,
  credentialColumnUnhashed,
  auditTableMutable,
  // security (files)
  migrationSecret,
  // performance
  authCallPerRow,
  lookupPerRow,
  multiplePermissivePolicies,
  claimColumnUnindexed,
  unindexedForeignKey,
  // migration safety
  indexNotConcurrent,
  addColumnNotNullNoDefault,
  tableRewrite,
  dropColumnOrTable,
  renameColumnOrTable,
  constraintNotValid,
  missingLockTimeout,
  noTransactionStatement,
];

export const UNUSED_SUPPRESSION: RuleMeta = unusedSuppression;
export const POLICY_UNPARSED: RuleMeta = policyUnparsed;

/** Metadata of every rule, the engine's own included. */
export const ALL_RULE_META: readonly RuleMeta[] = [...RULES, unusedSuppression, policyUnparsed];
