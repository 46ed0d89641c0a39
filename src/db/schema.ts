/**
 * Row types of every table. Integer columns are BIGINT on both stores and arrive as `bigint`;
 * times are unix milliseconds. `Generated` marks columns the database fills in.
 */
import type { Generated } from 'kysely'
import type { EvaluationOutcome, RepeatKind } from '../domain/points.ts'
import type { AlgorithmState, AssignmentKind, AssignmentRole, AssignmentStatus } from '../domain/work.ts'

export interface PoolMetaTable {
  key: string
  value: string
}

export interface MinersTable {
  hotkey: string
  public_key: string
  created_at: bigint
  last_seen: bigint
  recipient_coldkey: string | null
  recipient_updated_at: bigint | null
  reputation: Generated<number>
  /** Secret random number in [1, 2^31 - 2]: with an algorithm's draw, decides whether it is offered to this miner first. */
  draw: Generated<bigint>
  /** Recent decided evaluations agreeing / disagreeing with the winning cluster (scaled to TRUST_HORIZON): the vote weight. */
  trust_agreements: Generated<number>
  trust_disagreements: Generated<number>
}

export interface UsedSignaturesTable {
  signature: string
  hotkey: string
  expires_at: bigint
}

export interface AlgorithmsTable {
  id: Generated<bigint>
  task_type: string
  /** The program as the miners' serializer writes it (the canonical form), or, when dsl_readable is 0, as stored before. */
  algorithm_dsl: string
  /** The text as submitted (or as stored before migration 002), when it differs from algorithm_dsl. */
  submitted_dsl: string | null
  /** 0 for algorithms stored before migration 002 that the miners' grammar does not read: never handed out. */
  dsl_readable: Generated<bigint>
  algorithm_hash: string
  input_dim: bigint
  state: AlgorithmState
  consensus_score: number | null
  miner_hotkey: string | null
  is_seed: bigint
  repeat: RepeatKind
  reject_reason: string | null
  source_assignment_id: string | null
  evaluation_count: Generated<bigint>
  created_at: bigint
  created_window: bigint
  decided_at: bigint | null
  decided_window: bigint | null
  verified_at: bigint | null
  verified_by: string | null
  /** Secret random number in [1, 2^31 - 2] (0 for rows older than migration 007's fill): see MinersTable.draw. */
  draw: Generated<bigint>
  /** Evaluations to collect before the algorithm is judged; null: CONSENSUS_SAMPLE_SIZE. Adaptive n raises it. */
  sample_target: bigint | null
  /** When the current evaluation slots were opened; null: created_at. */
  offered_at: bigint | null
}

export interface AlgorithmParentsTable {
  algorithm_id: bigint
  parent_id: bigint
}

export interface AssignmentsTable {
  id: string
  miner_hotkey: string
  kind: AssignmentKind
  task_type: string
  window_number: bigint
  status: AssignmentStatus
  issued_at: bigint
  timeout_at: bigint
  submitted_at: bigint | null
  evolve_budget: bigint
}

export interface AssignmentItemsTable {
  assignment_id: string
  role: AssignmentRole
  algorithm_id: bigint
}

export interface LeaseWindowsTable {
  miner_hotkey: string
  window_number: bigint
}

export interface EvaluationsTable {
  id: Generated<bigint>
  algorithm_id: bigint
  miner_hotkey: string
  assignment_id: string
  score: number | null
  window_number: bigint
  created_at: bigint
  outcome: EvaluationOutcome | null
}

export interface WindowClosesTable {
  window_number: bigint
  closed_at: bigint
}

export interface WindowPointsTable {
  window_number: bigint
  miner_hotkey: string
  agreements: bigint
  disagreements: bigint
  evaluations: bigint
  evolutions: bigint
  scored_evolutions: bigint
  evaluator_points: number
  evolver_points: number
  penalty: number
  points: number
}

export interface EpochsTable {
  epoch_id: bigint
  root: string
  num_of_leaves: bigint
  total_units: bigint
  epoch_units: bigint
  fee_units: bigint
  undistributed_units: bigint
  budget_units: bigint
  window_start: bigint
  window_end: bigint
  block_start: bigint
  block_end: bigint
  closed_at: bigint
  params: string
}

export interface EpochPayoutsTable {
  epoch_id: bigint
  hotkey: string
  points: number
  micro_points: bigint
  units: bigint
}

export interface EpochLeavesTable {
  epoch_id: bigint
  leaf_index: bigint
  hotkey: string
  recipient_coldkey: string
  amount_units: bigint
  leaf: string
  proof: string
}

export interface ClaimsTable {
  epoch_id: bigint
  hotkey: string
  leaf_index: bigint
  recipient_coldkey: string
  amount_units: bigint
  transferred_units: bigint
  claimed_at: bigint
}

export interface MinerBansTable {
  hotkey: string
  reason: string
  banned_at: bigint
}

export interface HotkeyClaimsTable {
  hotkey: string
  claimed_units: bigint
}

export interface DB {
  pool_meta: PoolMetaTable
  miners: MinersTable
  used_signatures: UsedSignaturesTable
  algorithms: AlgorithmsTable
  algorithm_parents: AlgorithmParentsTable
  assignments: AssignmentsTable
  assignment_items: AssignmentItemsTable
  lease_windows: LeaseWindowsTable
  evaluations: EvaluationsTable
  window_closes: WindowClosesTable
  window_points: WindowPointsTable
  epochs: EpochsTable
  epoch_payouts: EpochPayoutsTable
  epoch_leaves: EpochLeavesTable
  claims: ClaimsTable
  hotkey_claims: HotkeyClaimsTable
  miner_bans: MinerBansTable
}
