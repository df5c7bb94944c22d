// The BookService definition, loaded from proto/book.proto at start-up with proto-loader
// (no generated code to keep in sync). Field names stay as in the .proto (served_by).
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const definition = loadSync(fileURLToPath(new URL('../proto/book.proto', import.meta.url)), {
  keepCase: true,
  longs: Number,
  defaults: true,
});

/** The grpc-js client class; `BookService.service` is the definition a server adds. */
export const BookService = (
  loadPackageDefinition(definition) as unknown as { book: { v1: { BookService: ServiceClientConstructor } } }
).book.v1.BookService;

export interface BookInfoRequest {
  id: number;
}
export interface BookInfo {
  id: number;
  title: string;
  author: string;
  served_by: string;
}
export interface BookListRequest {
  page: number;
  page_size: number;
}
export interface BookList {
  books: BookInfo[];
  page: number;
  served_by: string;
}
