#!/usr/bin/env node
import { main } from './program.js';

// A reader that goes away (`eventfabric tail | head -3`) is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// Set the code and let the process end by itself, so buffered output to a pipe is flushed.
process.exitCode = await main(process.argv);
