/** One member's share of a period's surplus, to the cent. */
export interface MemberAllocation {
  memberId: string;
  patronageCents: number;
  allocatedCents: number;
  /** Kept in the member's capital account. */
  retainedCents: number;
  /** Paid out as a distribution. */
  cashCents: number;
}

/** The inputs of an allocation: the surplus, the part retained, and patronage per member. */
export interface AllocationInput {
  surplusCents: number;
  /** Basis points of each allocation retained as capital (2000 = 20 %). */
  retainedBps: number;
  patronage: ReadonlyMap<string, number>;
}

/**
 * Allocate the surplus in proportion to patronage, to the cent, with nothing lost: each
 * member gets the floor of their exact share, and the cents left over go one each to the
 * largest remainders (ties to the smaller member id). Integer arithmetic throughout
 * (BigInt for the products), so the same inputs give the same cents everywhere: in the
 * saga's handler, on replay and in the audit.
 */
export function allocatePatronage(input: AllocationInput): MemberAllocation[] {
  const members = [...input.patronage.entries()]
    .filter(([, cents]) => cents > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const total = members.reduce((sum, [, cents]) => sum + BigInt(cents), 0n);
  if (total === 0n) return [];
  const surplus = BigInt(input.surplusCents);
  const shares = members.map(([memberId, cents]) => {
    const exact = surplus * BigInt(cents);
    return { memberId, cents, floor: exact / total, remainder: exact % total };
  });
  let left = surplus - shares.reduce((sum, s) => sum + s.floor, 0n);
  const byRemainder = [...shares].sort((a, b) =>
    a.remainder === b.remainder
      ? a.memberId < b.memberId
        ? -1
        : 1
      : a.remainder > b.remainder
        ? -1
        : 1,
  );
  const bonus = new Set<string>();
  for (const share of byRemainder) {
    if (left === 0n) break;
    bonus.add(share.memberId);
    left -= 1n;
  }
  return shares.map((share) => {
    const allocated = Number(share.floor) + (bonus.has(share.memberId) ? 1 : 0);
    const retained = Math.floor((allocated * input.retainedBps) / 10_000);
    return {
      memberId: share.memberId,
      patronageCents: share.cents,
      allocatedCents: allocated,
      retainedCents: retained,
      cashCents: allocated - retained,
    };
  });
}
