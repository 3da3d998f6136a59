// Package cards imports badge cards (the numbers that release print jobs)
// for users the bridge provisions: the one import that stays allowed once
// SCIM provisioning is on, because Entra knows nothing of cards. The CLI
// (`scimbridge cards import`), the admin API (POST /admin/cards/import) and
// any future console call Import and read its typed Result.
//
// What an import does (docs/design.md §3 "Badge-card import"):
//
//   - It reads a CSV file with a header row, streamed (memory does not grow
//     with the file): UTF-8 with or without a byte-order mark, `,` or `;`
//     (detected from the header unless given), a column naming the user and
//     one holding the card number, both named by the options.
//   - Users are matched, never created: by userName, externalId, the work
//     email or employeeNumber, whichever the mapping stores. A row whose
//     user does not exist, was deprovisioned (a SCIM DELETE kept it), or
//     matches two users is rejected with its line number, and nothing is
//     written for it. Disabled users (active=false) get their cards.
//   - Cards are added to what the user holds; with Replace, each user named
//     in the file ends up holding exactly the cards the file gives them
//     (removals run after the last row). A card another user holds is
//     rejected: on the SQL store its unique index decides, inside the
//     batch's transaction, so case is folded exactly as the store folds it;
//     a directory without transactions is asked who holds the card with its
//     own matching rule. A re-run of the same file changes nothing.
//   - Rows go to the store in batches, one transaction per batch where the
//     store has transactions (backends.BatchModifier). Cancelling ctx keeps
//     every finished batch and the Result says which line to resume at
//     (Options.ResumeAt); DryRun lets the store decide every row and keeps
//     nothing.
//   - Every card added or removed is one audit record (logger "audit":
//     op card-add or card-remove, the user's id, the line, and the card's
//     last four characters only).
package cards
