/**
 * The statuses an attendance record can have (the rule that gives them is in evidence.ts). Its
 * own module because both the rule and the store's records need it: evidence.ts reads the
 * records' fields, the records carry a status, and with the type in evidence.ts the two
 * imported each other.
 */
export const ATTENDANCE_STATUSES = ['confirmed', 'pending', 'unconfirmed'] as const;
export type AttendanceStatus = (typeof ATTENDANCE_STATUSES)[number];
